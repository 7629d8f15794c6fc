/**
 * A network loaded by the engine (csrc/models): run by method name on named tensors.
 * Architecture-specific classes wrap this with typed inputs and outputs.
 */
import { native, type NativeModel, type NativeTensor } from '../native.js';
import { engineAttrs, type Options } from '../options.js';
import { isGradEnabled } from '../grad-mode.js';
import { Tensor } from '../tensor.js';
import { wrapAsync, wrapSync } from '../errors.js';
import { nativeCallArgs, type CallOptions } from '../call-options.js';

export interface LoadModelOptions {
  /** The dtype of weight matrices in memory: 'f32' (default), 'bf16' or 'f16'. */
  dtype?: 'f32' | 'bf16' | 'f16';
  /** Where the weights live and the model computes: 'cpu' (default) or 'cuda' (E_DEVICE without a usable GPU). */
  device?: 'cpu' | 'cuda';
}

/** The architectures the engine can load ('clip_text', ...). */
export function modelKinds(): string[] {
  return native.modelKinds();
}

export class Model {
  private constructor(private readonly handle: NativeModel) {}

  /** @internal the native handle, for engine calls that take several models (lib/diffusion/sample.ts). */
  get native(): NativeModel {
    return this.handle;
  }

  /**
   * Loads `kind` from a Hugging Face folder: config.json + *.safetensors (sharded or not).
   * `dtype` 'bf16' / 'f16' holds the weight matrices of linear and embedding layers in 16 bits
   * (half the memory; computation stays f32); other tensors are f32. Default 'f32'.
   */
  static async load(kind: string, folder: string, opts: LoadModelOptions = {}): Promise<Model> {
    return new Model(await wrapAsync(() => native.loadModel(kind, folder, opts.dtype ?? 'f32', opts.device ?? 'cpu')));
  }

  /**
   * Builds `kind` from its config alone with seeded random weights (norm scales 1, biases 0,
   * embeddings N(0, 0.02²), matrices and convolutions N(0, 1/fan_in)): real sizes without the
   * checkpoint, for benchmarks. `config` is the config file or a folder holding it; `opts.device`
   * 'cuda' builds the weights on the GPU (as Model.load).
   */
  static async random(
    kind: string,
    config: string,
    seed = 0,
    opts: Pick<LoadModelOptions, 'device'> = {},
  ): Promise<Model> {
    return new Model(await wrapAsync(() => native.randomModel(kind, config, seed, opts.device ?? 'cpu')));
  }

  get kind(): string {
    return this.handle.kind;
  }

  /**
   * Runs a method; records for backward() when an input requires grad (outside noGrad).
   * Options are camelCase (`{ maxNewTokens: 8 }`). `call.signal` aborts it (E_ABORTED),
   * `call.onProgress` follows it.
   */
  async run(
    method: string,
    inputs: Record<string, Tensor | null | undefined>,
    options: Options = {},
    call: CallOptions = {},
  ): Promise<Record<string, Tensor>> {
    const handles: Record<string, NativeTensor> = {};
    for (const [k, t] of Object.entries(inputs)) if (t) handles[k] = t.native;
    const attrs = engineAttrs(options, `${this.handle.kind}.${method}`);
    const args = nativeCallArgs(call);
    const out = await wrapAsync(() =>
      args.settle(() => this.handle.run(method, handles, attrs, isGradEnabled(), args.token, args.progress)),
    );
    const result: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(out)) result[k] = new Tensor(t);
    return result;
  }

  /** The model's own parameters by reference name: set requiresGrad to train one. */
  parameters(): Record<string, Tensor> {
    const p = wrapSync(() => this.handle.parameters());
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(p)) out[k] = new Tensor(t);
    return out;
  }

  dispose(): void {
    this.handle.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

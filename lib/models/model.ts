/**
 * A network loaded by the engine (csrc/models). EngineModel is the base every model class
 * shares: the native handle, the typed config the engine read (`config`), parameters(),
 * dispose. The architecture classes (UNet2DConditionModel, AutoencoderKL, ClipTextModel,
 * Scheduler, Florence2Model; CausalLM wraps one) add a static load() and typed methods;
 * `Model` is the generic one: any kind by name, run by method name on named tensors.
 */
import { native, type Attrs, type NativeModel, type NativeTensor } from '../native.js';
import { engineAttrs, type Options } from '../options.js';
import { isGradEnabled } from '../grad-mode.js';
import { Tensor } from '../tensor.js';
import { wrapAsync, wrapSync } from '../errors.js';
import { nativeCallArgs, type CallOptions } from '../call-options.js';

/** The architectures the engine can load ('clip_text', ...). */
export function modelKinds(): string[] {
  return native.modelKinds();
}

/** Where and how a model is loaded: camelCase options of every load(). */
export interface LoadOptions {
  /** The dtype of weight matrices in memory: 'f32' (default), 'bf16' or 'f16'. */
  dtype?: 'f32' | 'bf16' | 'f16';
  /** Where the weights live and the model computes: 'cpu' (default) or 'cuda' (E_DEVICE without a usable GPU). */
  device?: 'cpu' | 'cuda';
}

/** @deprecated the same as LoadOptions. */
export type LoadModelOptions = LoadOptions;

/**
 * @internal the native load of `kind` from a folder; `sources` names the files of a composite
 * kind's parts ("vlv": the checkpoint and each part's folder, lib/vlv/folder.ts).
 */
export async function loadNative(
  kind: string,
  folder: string,
  opts: LoadOptions & { sources?: Record<string, string> } = {},
): Promise<NativeModel> {
  return wrapAsync(() => native.loadModel(kind, folder, opts.dtype ?? 'f32', opts.device ?? 'cpu', opts.sources));
}

/** @internal */
export async function randomNative(
  kind: string,
  config: string,
  seed: number,
  opts: Pick<LoadOptions, 'device'> = {},
): Promise<NativeModel> {
  return wrapAsync(() => native.randomModel(kind, config, seed, opts.device ?? 'cpu'));
}

/** Anything whose parameters can be frozen and unfrozen (freeze.ts). */
export interface ParameterOwner {
  readonly kind: string;
  parameters(): Record<string, Tensor>;
}

/** The base every model class shares (see the file comment). C: its typed config. */
export abstract class EngineModel<C = unknown> implements ParameterOwner {
  protected constructor(protected readonly handle: NativeModel) {}

  /** @internal the native handle, for engine calls that take several models (lib/diffusion/sample.ts). */
  get native(): NativeModel {
    return this.handle;
  }

  /** The engine's model kind ('unet', 'vae', ...). */
  get kind(): string {
    return this.handle.kind;
  }

  private cachedConfig: C | undefined;

  /** The typed config the engine read from the folder (its field names, every default filled in). */
  get config(): C {
    this.cachedConfig ??= this.handle.config as C;
    return this.cachedConfig;
  }

  /** The model's own parameters by reference name: set requiresGrad to train one. */
  parameters(): Record<string, Tensor> {
    const p = wrapSync(() => this.handle.parameters());
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(p)) out[k] = new Tensor(t);
    return out;
  }

  /**
   * Runs a method on named tensors (the engine's names); records for backward() when an input
   * requires grad (outside noGrad). Options are camelCase (`{ maxNewTokens: 8 }`).
   * `call.signal` aborts it (E_ABORTED), `call.onProgress` follows it.
   */
  async run(
    method: string,
    inputs: Record<string, Tensor | null | undefined>,
    options: Options = {},
    call: CallOptions = {},
  ): Promise<Record<string, Tensor>> {
    return this.runEngine(method, inputs, engineAttrs(options, `${this.handle.kind}.${method}`), call);
  }

  /** run() with the engine's own attribute names: the typed methods of the model classes. */
  protected async runEngine(
    method: string,
    inputs: Record<string, Tensor | null | undefined>,
    attrs: Attrs,
    call: CallOptions = {},
  ): Promise<Record<string, Tensor>> {
    const handles: Record<string, NativeTensor> = {};
    for (const [k, t] of Object.entries(inputs)) if (t) handles[k] = t.native;
    const args = nativeCallArgs(call);
    const out = await wrapAsync(() =>
      args.settle(() => this.handle.run(method, handles, attrs, isGradEnabled(), args.token, args.progress)),
    );
    const result: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(out)) result[k] = new Tensor(t);
    return result;
  }

  /** Frees the weights (calls after it are E_DISPOSED). */
  dispose(): void {
    this.handle.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
  [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
    return Promise.resolve();
  }
}

/** Any architecture by its engine kind, run by method name: the generic model. */
export class Model extends EngineModel<Record<string, unknown>> {
  private constructor(handle: NativeModel) {
    super(handle);
  }

  /**
   * Loads `kind` from a Hugging Face folder: config.json + *.safetensors (sharded or not).
   * `dtype` 'bf16' / 'f16' holds the weight matrices of linear and embedding layers in 16 bits
   * (half the memory; computation stays f32); other tensors are f32. Default 'f32'.
   */
  static async load(kind: string, folder: string, opts: LoadOptions = {}): Promise<Model> {
    return new Model(await loadNative(kind, folder, opts));
  }

  /**
   * Builds `kind` from its config alone with seeded random weights (norm scales 1, biases 0,
   * embeddings N(0, 0.02²), matrices and convolutions N(0, 1/fan_in)): real sizes without the
   * checkpoint, for benchmarks. `config` is the config file or a folder holding it; `opts.device`
   * 'cuda' builds the weights on the GPU (as Model.load).
   */
  static async random(kind: string, config: string, seed = 0, opts: Pick<LoadOptions, 'device'> = {}): Promise<Model> {
    return new Model(await randomNative(kind, config, seed, opts));
  }
}

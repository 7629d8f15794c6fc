/** Options of every long call: cancellation and progress. */
import { native, type NativeCancelToken, type NativeProgress } from './native.js';
import { VlvError } from './errors.js';

export interface Progress {
  /** What is running: 'token', 'denoise', 'layer', ... */
  stage: string;
  done: number;
  total: number;
  /** 'token' steps of greedy / sampled generation: the token each row chose at this step. */
  ids?: number[];
}

export interface CallOptions {
  /** Aborting rejects the call with E_ABORTED within one op (one layer, one step, one token). */
  signal?: AbortSignal;
  /** Called on the JS thread as the call advances. */
  onProgress?: (p: Progress) => void;
}

/** @internal the native arguments for a call's options, and how to settle the call. */
export interface NativeCallArgs {
  token: NativeCancelToken | null;
  progress: NativeProgress | null;
  /**
   * Starts the native call and settles with it, but only after every progress event it sent
   * reached onProgress (the engine queues an end marker behind the last one: its completion and
   * its events travel separately), then detaches from the signal.
   */
  settle<T>(start: () => Promise<T>): Promise<T>;
}

/** @internal */
export function nativeCallArgs(opts: CallOptions): NativeCallArgs {
  if (opts.signal?.aborted) throw new VlvError('E_ABORTED', 'aborted before the call started');
  let token: NativeCancelToken | null = null;
  let detach = () => {};
  if (opts.signal) {
    const t = native.createCancelToken();
    const onAbort = () => t.cancel();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const signal = opts.signal;
    detach = () => signal.removeEventListener('abort', onAbort);
    token = t;
  }
  const cb = opts.onProgress;
  let ended = () => {};
  const end = new Promise<void>((resolve) => (ended = resolve));
  const progress = cb
    ? (stage: string, d: number, total: number, ids?: number[]) => {
        if (stage === '' && d === -1)
          ended(); // csrc/napi/call_context_binding.h: kProgressEndStage
        else cb({ stage, done: d, total, ...(ids ? { ids } : {}) });
      }
    : null;
  const settle = async <T>(start: () => Promise<T>): Promise<T> => {
    let call: Promise<T>;
    try {
      call = start(); // a synchronous throw: nothing was queued, no marker will come
    } catch (e) {
      detach();
      throw e;
    }
    try {
      return await call;
    } finally {
      if (cb) await end;
      detach();
    }
  };
  return { token, progress, settle };
}

/** Options of every long call: cancellation and progress. */
import { native } from './native.js';
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

/** @internal the native cancel token of csrc/napi/call_context_binding.cc. */
export interface NativeCancelToken {
  cancel(): void;
  readonly cancelled: boolean;
}

/** @internal the native arguments for a call's options, and a cleanup to run when it settles. */
export function nativeCallArgs(opts: CallOptions): {
  token: NativeCancelToken | null;
  progress: ((stage: string, done: number, total: number, ids?: number[]) => void) | null;
  done(): void;
} {
  if (opts.signal?.aborted) throw new VlvError('E_ABORTED', 'aborted before the call started');
  let token: NativeCancelToken | null = null;
  let done = () => {};
  if (opts.signal) {
    const t = (native.createCancelToken as () => NativeCancelToken)();
    const onAbort = () => t.cancel();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const signal = opts.signal;
    done = () => signal.removeEventListener('abort', onAbort);
    token = t;
  }
  const cb = opts.onProgress;
  const progress = cb
    ? (stage: string, d: number, total: number, ids?: number[]) => cb({ stage, done: d, total, ...(ids ? { ids } : {}) })
    : null;
  return { token, progress, done };
}

/** Error codes the engine and the TypeScript layer raise. */
export type VlvErrorCode =
  | 'E_ARG'
  | 'E_SHAPE'
  | 'E_DTYPE'
  | 'E_FILE_FORMAT'
  | 'E_FILE'
  | 'E_DEVICE'
  | 'E_OOM'
  | 'E_ABORTED'
  | 'E_DISPOSED'
  | 'E_LOAD'
  | 'E_INTERNAL';

/** Every error vlv throws or rejects with: `code` says what kind of fault it is. */
export class VlvError extends Error {
  readonly code: VlvErrorCode;

  constructor(code: VlvErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VlvError';
    this.code = code;
  }

  /** Wraps an error from the native addon (a plain Error with `code`) as a VlvError. */
  static from(e: unknown): VlvError {
    if (e instanceof VlvError) return e;
    if (e instanceof Error) {
      const code = (e as Error & { code?: unknown }).code;
      const known = typeof code === 'string' && code.startsWith('E_') ? (code as VlvErrorCode) : 'E_INTERNAL';
      return new VlvError(known, e.message, { cause: e });
    }
    return new VlvError('E_INTERNAL', String(e));
  }
}

/** Runs fn, rethrowing any failure as a VlvError. */
export function wrapSync<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw VlvError.from(e);
  }
}

/** Awaits p, rethrowing any failure as a VlvError. */
export async function wrapAsync<T>(p: Promise<T> | (() => Promise<T>)): Promise<T> {
  try {
    return await (typeof p === 'function' ? p() : p);
  } catch (e) {
    throw VlvError.from(e);
  }
}

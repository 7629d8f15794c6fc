/**
 * Grad mode follows the async call chain (AsyncLocalStorage), so `noGrad(async () => ...)`
 * covers every op awaited inside it and nothing outside, however calls interleave.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const store = new AsyncLocalStorage<boolean>();

/** Whether ops started now record themselves for backward(). */
export function isGradEnabled(): boolean {
  return store.getStore() ?? true;
}

/** Runs fn with recording off: for inference, and for updates to parameters. */
export function noGrad<T>(fn: () => T): T {
  return store.run(false, fn);
}

/** Runs fn with recording on, inside a noGrad scope too. */
export function enableGrad<T>(fn: () => T): T {
  return store.run(true, fn);
}

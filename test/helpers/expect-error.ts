import type { ExecutionContext } from 'ava';
import type { VlvError, VlvErrorCode } from '../../lib/index.js';

/** Asserts that `p` rejects with a VlvError of `code` whose message matches `message`. */
export async function expectError(t: ExecutionContext, p: Promise<unknown>, code: VlvErrorCode, message: RegExp) {
  const e = await t.throwsAsync<VlvError>(p);
  t.is(e?.code, code);
  t.regex(e?.message ?? '', message);
}

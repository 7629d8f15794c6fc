// sum, mean, mse_loss, cross_entropy: bad arguments, edge values the fixtures cannot hold
// (NaN), thread-count independence.
import test from 'ava';
import { ops, Tensor, type VlvError } from '../../lib/index.js';
import { probeUnderThreadCounts } from '../helpers/thread-counts.js';

const code = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return { code: (e as VlvError).code, message: (e as Error).message };
  }
  return { code: 'none', message: '' };
};

test('sum / mean: dims out of range or repeated are E_ARG', async (t) => {
  const x = Tensor.from(new Float32Array(6), [2, 3]);
  let e = await code(ops.sum(x, [2]));
  t.is(e.code, 'E_ARG');
  t.regex(e.message, /sum: dim 2 is out of range for f32\[2,3\]/);
  e = await code(ops.mean(x, [-3]));
  t.is(e.code, 'E_ARG');
  e = await code(ops.sum(x, [1, -1]));
  t.is(e.code, 'E_ARG');
  t.regex(e.message, /listed twice/);
  e = await code(ops.sum(Tensor.from([1, 2], [2], 'i32')));
  t.is(e.code, 'E_DTYPE');
});

test('sum / mean of a scalar with dim 0 or -1, and of an empty tensor', async (t) => {
  const s = Tensor.from([3], []);
  t.deepEqual([...((await ops.sum(s, [0])).toArray() as Float32Array)], [3]);
  t.deepEqual((await ops.mean(s, [-1], true)).shape, []);
  const empty = Tensor.from(new Float32Array(0), [0, 4]);
  t.deepEqual([...((await ops.sum(empty, [0])).toArray() as Float32Array)], [0, 0, 0, 0]);
  t.true(Number.isNaN((await ops.mean(empty)).toArray()[0]));
});

test('mse_loss: shapes must match; reduction must be known', async (t) => {
  const a = Tensor.from(new Float32Array(6), [2, 3]);
  let e = await code(ops.mseLoss(a, Tensor.from(new Float32Array(3), [3])));
  t.is(e.code, 'E_SHAPE');
  t.regex(e.message, /mse_loss: 'a' f32\[2,3\] and 'b' f32\[3\]/);
  e = await code(ops.runOp('mse_loss', [a, a], { reduction: 'avg' }));
  t.is(e.code, 'E_ARG');
  t.regex(e.message, /reduction.*avg/);
});

test('cross_entropy: bad targets', async (t) => {
  const logits = Tensor.from(new Float32Array(12), [3, 4]);
  let e = await code(ops.crossEntropy(logits, Tensor.from([0, 4, 1], [3], 'i64')));
  t.is(e.code, 'E_ARG');
  t.regex(e.message, /cross_entropy: target 4 at row 1 is out of range \[0, 4\)/);
  e = await code(ops.crossEntropy(logits, Tensor.from([0, -1, 1], [3], 'i32')));
  t.is(e.code, 'E_ARG');
  e = await code(ops.crossEntropy(logits, Tensor.from([0, 1, 1], [3])));
  t.is(e.code, 'E_DTYPE');
  e = await code(ops.crossEntropy(logits, Tensor.from([0, 1], [2], 'i32')));
  t.is(e.code, 'E_SHAPE');
  e = await code(ops.crossEntropy(Tensor.from(new Float32Array(4), [4]), Tensor.from([0], [1], 'i32')));
  t.is(e.code, 'E_SHAPE');
  // No classes: refused by both backends' shared check (every target would be out of range).
  e = await code(ops.crossEntropy(Tensor.zeros([2, 0]), Tensor.from([-100, -100], [2], 'i64')));
  t.is(e.code, 'E_SHAPE');
  t.regex(e.message, /cross_entropy: 'logits' f32\[2,0\] has no classes/);
});

test('cross_entropy: every row ignored gives NaN for mean (as torch), 0 for sum', async (t) => {
  const logits = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  const targets = Tensor.from([-100, -100], [2], 'i64');
  t.true(Number.isNaN((await ops.crossEntropy(logits, targets)).toArray()[0]));
  t.is((await ops.crossEntropy(logits, targets, { reduction: 'sum' })).toArray()[0], 0);
  const none = await ops.crossEntropy(logits, targets, { reduction: 'none' });
  t.deepEqual([...(none.toArray() as Float32Array)], [0, 0]);
});

test('results and gradients do not depend on the thread count', (t) => {
  const [one, ...rest] = probeUnderThreadCounts('reduce', [1, 2, 3]);
  t.regex(one!, /ce [0-9a-f]{16}/);
  for (const r of rest) t.is(r, one!);
});

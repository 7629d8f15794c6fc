// Heavy calls run off the JS thread: the event loop keeps ticking while one runs.
import test from 'ava';
import { type Tensor, ops } from '../../lib/index.js';

test('the event loop keeps ticking during a long op', async (t) => {
  const n = 1024;
  const batch = 8;
  const a = await ops.randn([batch, n, n], 1);
  const b = await ops.randn([batch, n, n], 2);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const t0 = performance.now();
  let c: Tensor | undefined;
  for (let i = 0; i < 3; i++) {
    c?.dispose();
    c = await ops.matmul(a, b);
  }
  const ms = performance.now() - t0;
  clearInterval(timer);
  t.deepEqual(c!.shape, [batch, n, n]);
  t.true(ms > 30, `the op should take a while (took ${ms.toFixed(0)} ms)`);
  // A blocked loop would give ~0 ticks; allow for timer jitter on a loaded machine.
  t.true(ticks >= Math.floor(ms / 5 / 4), `${ticks} ticks in ${ms.toFixed(0)} ms`);
});

test('concurrent ops settle independently and correctly', async (t) => {
  const xs = await Promise.all([1, 2, 3, 4].map((s) => ops.randn([64, 65], s)));
  const sums = await Promise.all(xs.map((x) => ops.add(x, x)));
  for (let i = 0; i < xs.length; i++) {
    const a = xs[i]!.toArray() as Float32Array;
    const s = sums[i]!.toArray() as Float32Array;
    t.true(a.every((v, j) => s[j] === 2 * v));
  }
});

// The machine's ceilings, measured in the same run as every other row: peak f32 FMA
// throughput (all threads and one) and copy bandwidth. Other rows are read against these.
import { native } from '../lib/native.js';
import { row, type BenchContext, type BenchRow } from './lib.js';

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const c = await native.measureCeilings(ctx.quick ? 0.05 : 0.3);
  return [
    row('ceiling f32 FMA', 'all threads', c.fmaGflops, 'GFLOP/s', null, null, true, 'register-only FMA chains'),
    row('ceiling f32 FMA', '1 thread', c.fmaGflops1t, 'GFLOP/s', null, null, true),
    row('ceiling copy bandwidth', '64 MiB memcpy', c.copyGBps, 'GB/s', null, null, true, 'read + write bytes'),
  ];
}

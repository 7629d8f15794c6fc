/**
 * Child process of test/ops/gemm.test.ts (run with VLV_SIMD / VLV_NUM_THREADS set): argv[2] is a
 * JSON list of MatmulCase; prints {simd, threads, out: base64 of each result's f32 bytes}.
 */
import { info } from '../../lib/index.js';
import { runMatmul, type MatmulCase } from './gemm-cases.js';

const cases = JSON.parse(process.argv[2]!) as MatmulCase[];
const out: string[] = [];
for (const c of cases) {
  const r = await runMatmul(c);
  out.push(Buffer.from(r.c.buffer, r.c.byteOffset, r.c.byteLength).toString('base64'));
}
console.log(JSON.stringify({ simd: info().simd, threads: info().threads, out }));

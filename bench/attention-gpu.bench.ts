/**
 * Fused attention on the GPU against torch.nn.functional.scaled_dot_product_attention on the
 * same card in the same run (bench/peers/torch_sdpa_gpu.py): sequences 77..4096, head dims 64
 * and 128, self and cross (4096 queries x 77 context keys, the UNet's case), forward and
 * forward+backward, bf16 and f32. Ours: forward timed with device events (cuda.time), fwd+bwd
 * by wall clock around the autograd call and a synchronize (includes host overhead); torch the
 * same way. Ratio = torch ms / ours ms (> 1: ours faster). bf16 rows run the tensor-core tiles
 * (csrc/cuda/attention_tiled.cu: d 64 / 128 here), f32 rows the general row kernels; run with
 * VLV_ATTENTION=rows to time the row kernels on bf16 too. Not yet run on a GPU.
 */
import { backward, cuda, info, Tensor } from '../lib/index.js';
import { runOp, runOpSync } from '../lib/ops.js';
import { row, runPeer, type BenchContext, type BenchRow } from './lib.js';

interface Case {
  B: number;
  H: number;
  Lq: number;
  Lk: number;
  D: number;
  dtype: 'bf16' | 'f32';
  reps: number;
}

function cases(quick: boolean): Case[] {
  const mk = (Lq: number, Lk: number, D: number, dtype: Case['dtype'] = 'bf16'): Case => ({
    B: 2,
    H: 8,
    Lq,
    Lk,
    D,
    dtype,
    reps: quick ? 2 : 20,
  });
  if (quick) return [mk(256, 256, 64)];
  return [
    mk(77, 77, 64),
    mk(1024, 1024, 64),
    mk(4096, 4096, 64),
    mk(1024, 1024, 128),
    mk(4096, 4096, 128),
    mk(4096, 77, 64),
    mk(4096, 77, 128),
    mk(1024, 1024, 64, 'f32'),
  ];
}

async function input(shape: number[], dtype: Case['dtype']): Promise<Tensor> {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = await Tensor.from(
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)),
    shape,
  ).to('cuda');
  return dtype === 'f32' ? t : runOpSync('cast', [t], { dtype })[0]!;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function ours(c: Case): Promise<{ fwd: number; fwdBwd: number }> {
  const q = await input([c.B, c.H, c.Lq, c.D], c.dtype),
    k = await input([c.B, c.H, c.Lk, c.D], c.dtype),
    v = await input([c.B, c.H, c.Lk, c.D], c.dtype);
  const g = await input([c.B, c.H, c.Lq, c.D], c.dtype);
  const fwd = () => runOpSync('attention', [q, k, v, null])[0]!.dispose();
  fwd();
  cuda.synchronize();
  const f: number[] = [];
  for (let r = 0; r < c.reps; r++) f.push(cuda.time(fwd, 1));
  const fb: number[] = [];
  for (let r = 0; r < c.reps + 1; r++) {
    const [qq, kk, vv] = [q, k, v].map((x) => {
      const y = x.detach();
      y.requiresGrad = true;
      return y;
    });
    const t0 = performance.now();
    const [o] = await runOp('attention', [qq!, kk!, vv!, null]);
    await backward(o!, g);
    cuda.synchronize();
    if (r > 0) fb.push(performance.now() - t0);
    for (const x of [qq, kk, vv, o]) x!.dispose();
  }
  for (const x of [q, k, v, g]) x.dispose();
  return { fwd: median(f), fwdBwd: median(fb) };
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const i = info();
  if (!i.cuda.available) return [row('attention gpu', '-', 0, 'ms', null, null, false, `CUDA off: ${i.cuda.reason}`)];
  const cs = cases(ctx.quick);
  const peer = runPeer<{ fwd: number[]; fwd_bwd: number[]; torch: string; device: string }>('torch_sdpa_gpu.py', {
    cases: cs,
  });
  const rows: BenchRow[] = [];
  for (const [k, c] of cs.entries()) {
    const m = await ours(c);
    const shape = `B${c.B} H${c.H} ${c.Lq}x${c.Lk} D${c.D} ${c.dtype}`;
    const who = peer ? `torch ${peer.torch} SDPA` : null;
    rows.push(
      row(
        'attention fwd gpu',
        shape,
        m.fwd,
        'ms',
        who,
        peer ? peer.fwd[k]! : null,
        false,
        c.Lq === c.Lk ? 'self' : 'cross',
      ),
    );
    rows.push(
      row('attention fwd+bwd gpu', shape, m.fwdBwd, 'ms', who, peer ? peer.fwd_bwd[k]! : null, false, 'wall clock'),
    );
  }
  if (peer) console.log(`device: ${peer.device}`);
  return rows;
}

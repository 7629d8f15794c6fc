// Decode speed of a Qwen2.5-0.5B-shaped model with random weights (bench/configs), f32 and
// bf16 weight matrices, batch 1 and 4, against the floor memory bandwidth sets: every step
// streams all weight matrices once (the LM head whole, the embedding one row), so a step takes
// at least weight bytes / copy bandwidth (ceiling bench: native.measureCeilings, same run).
// A step's time is the median interval between successive 'token' progress events (the
// prompt's prefill is excluded), best of 3 generate() calls as the ceiling keeps its best of
// 3 (the machine is shared); tokens/s = batch / step time. Target: >= 0.7x the floor at
// batch 1. --quick: a tiny config, a few steps.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CausalLM } from '../lib/index.js';
import { native } from '../lib/native.js';
import { weightBytesPerToken, writeRandomQwen2, type Qwen2Shape } from '../test/helpers/random-qwen2.js';
import { row, type BenchContext, type BenchRow } from './lib.js';

const QUICK: Qwen2Shape = {
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 1000,
  tie_word_embeddings: true,
  rope_theta: 1e6,
};

/** Median seconds per decode step of one generate() call (steps 2..n: step 1 includes the prefill). */
async function stepSeconds(lm: CausalLM, batch: number, steps: number): Promise<number> {
  const prompt = Array.from({ length: batch }, (_, r) =>
    Array.from({ length: 8 }, (_, j) => 1 + (((r * 8 + j) * 37) % 900)),
  );
  const stamps: number[] = [];
  await lm.generate(prompt, { maxNewTokens: steps, onProgress: () => stamps.push(performance.now()) });
  await new Promise((r) => setTimeout(r, 20)); // the last progress events may land after the call
  const dt = stamps
    .slice(1)
    .map((t, i) => t - stamps[i]!)
    .sort((a, b) => a - b);
  return dt[Math.floor(dt.length / 2)]! / 1000;
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const shape: Qwen2Shape = ctx.quick
    ? QUICK
    : (JSON.parse(readFileSync(join(import.meta.dirname, 'configs', 'qwen2.5-0.5b.json'), 'utf8')) as Qwen2Shape);
  const label = ctx.quick ? 'tiny' : 'qwen2.5-0.5b';
  const steps = ctx.quick ? 4 : 16;
  const { copyGBps } = await native.measureCeilings(ctx.quick ? 0.05 : 0.3);
  const rows: BenchRow[] = [];
  for (const dtype of ['f32', 'bf16'] as const) {
    const dir = await writeRandomQwen2(shape, { dtype, seed: 1 });
    try {
      const lm = await CausalLM.load(dir, { dtype });
      const bytes = weightBytesPerToken(shape, dtype === 'f32' ? 4 : 2);
      const floorStep = bytes / (copyGBps * 1e9);
      await stepSeconds(lm, 1, 2); // warm the page cache and the pool
      for (const batch of [1, 4]) {
        let s = Infinity;
        for (let rep = 0; rep < (ctx.quick ? 1 : 3); rep++) s = Math.min(s, await stepSeconds(lm, batch, steps));
        rows.push(
          row(
            `decode ${dtype} weights`,
            `${label} batch ${batch}`,
            batch / s,
            'tok/s',
            'bandwidth floor',
            batch / floorStep,
            true,
            `${(bytes / 1e9).toFixed(2)} GB/step at ${copyGBps.toFixed(1)} GB/s`,
          ),
        );
      }
      lm.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

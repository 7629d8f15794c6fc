// Learning-rate schedules against transformers' get_{constant,linear,cosine}_schedule_with_warmup
// (values computed with transformers 4.x's lambdas by hand), the per-micro-batch seeds, the
// options (official defaults per stage, run.json under explicit options, resume's fixed settings)
// and the no-decay classification.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lrMultiplier } from '../../lib/train/schedule.js';
import { microBatchSeed } from '../../lib/train/seeds.js';
import { resolveSettings, resumeSettings, withConfig } from '../../lib/train/options.js';
import { isNoDecay } from '../../lib/train/params.js';

test('schedules: warmup from 0, then constant, linear to 0, half cosine to 0 (transformers lambdas)', (t) => {
  const s = (kind: 'constant' | 'linear' | 'cosine') => ({ kind, warmup: 10, total: 110 });
  t.is(lrMultiplier(s('linear'), 0), 0);
  t.is(lrMultiplier(s('linear'), 5), 0.5);
  for (const k of ['constant', 'linear', 'cosine'] as const) t.is(lrMultiplier(s(k), 10), 1);
  t.is(lrMultiplier(s('constant'), 100), 1);
  t.is(lrMultiplier(s('linear'), 60), 0.5);
  t.is(lrMultiplier(s('linear'), 110), 0);
  t.is(lrMultiplier(s('linear'), 200), 0);
  t.true(Math.abs(lrMultiplier(s('cosine'), 60) - 0.5) < 1e-15);
  t.true(Math.abs(lrMultiplier(s('cosine'), 35) - 0.5 * (1 + Math.cos(Math.PI * 0.25))) < 1e-15);
  t.true(Math.abs(lrMultiplier(s('cosine'), 110)) < 1e-15);
  t.is(lrMultiplier({ kind: 'cosine', warmup: 0, total: 100 }, 0), 1);
});

test('per-micro-batch seeds: a pure function of (seed, index), distinct, safe integers', (t) => {
  const seen = new Set<number>();
  for (const seed of [0, 1, 7])
    for (let i = 0; i < 1000; i++) {
      const v = microBatchSeed(seed, i);
      t.true(Number.isSafeInteger(v) && v >= 0);
      seen.add(v);
    }
  t.is(seen.size, 3000);
  t.is(microBatchSeed(3, 17), microBatchSeed(3, 17));
});

test('options: official defaults per stage, run.json under explicit options, resume keeps the run settings', (t) => {
  const s1 = resolveSettings('stage1', {});
  t.like(s1, { lr: 5e-5, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.01, schedule: 'cosine', maxGradNorm: 1 });
  const s2 = resolveSettings('stage2', {});
  t.like(s2, { lr: 1e-5, betas: [0.9, 0.999], weightDecay: 0.01, schedule: 'linear', maxCaptionTokens: 300 });
  t.is(resolveSettings('stage1', { ema: true }).emaDecay, 0.9999);
  const dir = mkdtempSync(join(tmpdir(), 'vlv-opts-'));
  try {
    const cfg = join(dir, 'run.json');
    writeFileSync(cfg, JSON.stringify({ lr: 1e-4, steps: 50, batch: 8 }));
    const merged = withConfig({ config: cfg, steps: 20 });
    t.is(merged.lr, 1e-4);
    t.is(merged.steps, 20, 'explicit options win');
    writeFileSync(cfg, JSON.stringify({ learning_rate: 1 }));
    t.throws(() => withConfig({ config: cfg }), { message: /unknown option 'learning_rate'/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.throws(() => resolveSettings('stage1', { steps: 0 }), { message: /steps must be a positive integer/ });
  t.throws(() => resolveSettings('stage1', { betas: [0.9, 1] }), { message: /betas/ });
  const stored = resolveSettings('stage1', { lr: 1e-3, steps: 40 });
  t.deepEqual(resumeSettings(stored, 'stage1', { steps: 40, saveEvery: 5 }), stored);
  t.throws(() => resumeSettings(stored, 'stage1', { steps: 80 }), { message: /these options differ: steps/ });
  t.throws(() => resumeSettings(stored, 'stage2', {}), { message: /of a stage1 run, not stage2/ });
});

test('no weight decay (as an option) for biases and the weights of norm layers only', (t) => {
  for (const n of [
    'language_proj.0.bias',
    'model.language_model.final_logits_bias',
    'model.language_model.model.encoder.layers.0.self_attn_layer_norm.weight',
    'model.language_model.model.decoder.layernorm_embedding.weight',
    'qwen2_model.model.norm.weight',
    'qwen2_model.model.layers.0.input_layernorm.weight',
  ])
    t.true(isNoDecay(n, [32]), n);
  for (const n of ['language_proj.0.weight', 'query_embed', 'qwen2_model.model.layers.0.mlp.up_proj.weight'])
    t.false(isNoDecay(n, [32, 32]), n);
});

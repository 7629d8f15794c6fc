// Qwen2 on tiny random configs written here (other sizes than the golden folder): beam search
// against an exhaustive search, KV-cached greedy decoding against full forwards with left
// padding, sampling and processors, the loss against logits, and typed errors.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backward, Model, saveSafetensors, Tensor, VlvError } from '../../lib/index.js';
import { goldenPath } from '../helpers/golden.js';

interface TinyConfig {
  vocab: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  layers: number;
  inter: number;
  tied: boolean;
  extra?: Record<string, unknown>;
}

// Deterministic uniform numbers (mulberry32).
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function writeTinyQwen2(c: TinyConfig, seed: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-qwen2-'));
  const config = {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_act: 'silu',
    attention_dropout: 0.0,
    hidden_size: c.hidden,
    intermediate_size: c.inter,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    num_hidden_layers: c.layers,
    vocab_size: c.vocab,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    rope_scaling: null,
    sliding_window: 4096,
    use_sliding_window: false,
    max_window_layers: 28,
    tie_word_embeddings: c.tied,
    torch_dtype: 'float32',
    use_cache: true,
    ...c.extra,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const u = rng(seed);
  const uniform = (shape: number[], scale: number, offset = 0) =>
    Tensor.from(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => offset + scale * (2 * u() - 1)),
      shape,
    );
  const mat = (out: number, inp: number) => uniform([out, inp], Math.sqrt(3 / inp));
  const d = c.hidden / c.heads;
  const w: Record<string, Tensor> = { 'model.embed_tokens.weight': uniform([c.vocab, c.hidden], 1.5) };
  for (let i = 0; i < c.layers; i++) {
    const p = `model.layers.${i}.`;
    w[p + 'input_layernorm.weight'] = uniform([c.hidden], 0.2, 1);
    w[p + 'post_attention_layernorm.weight'] = uniform([c.hidden], 0.2, 1);
    w[p + 'self_attn.q_proj.weight'] = mat(c.heads * d, c.hidden);
    w[p + 'self_attn.q_proj.bias'] = uniform([c.heads * d], 0.1);
    w[p + 'self_attn.k_proj.weight'] = mat(c.kvHeads * d, c.hidden);
    w[p + 'self_attn.k_proj.bias'] = uniform([c.kvHeads * d], 0.1);
    w[p + 'self_attn.v_proj.weight'] = mat(c.kvHeads * d, c.hidden);
    w[p + 'self_attn.v_proj.bias'] = uniform([c.kvHeads * d], 0.1);
    w[p + 'self_attn.o_proj.weight'] = mat(c.hidden, c.heads * d);
    w[p + 'mlp.gate_proj.weight'] = mat(c.inter, c.hidden);
    w[p + 'mlp.up_proj.weight'] = mat(c.inter, c.hidden);
    w[p + 'mlp.down_proj.weight'] = mat(c.hidden, c.inter);
  }
  w['model.norm.weight'] = uniform([c.hidden], 0.2, 1);
  if (!c.tied) w['lm_head.weight'] = uniform([c.vocab, c.hidden], 1.5);
  await saveSafetensors(join(dir, 'model.safetensors'), w);
  return dir;
}

const ids = (rows: number[][]) => Tensor.from(BigInt64Array.from(rows.flat(), BigInt), [rows.length, rows[0]!.length]);
const asNumbers = (t: Tensor) => Array.from(t.toArray() as BigInt64Array, Number);

function logSoftmax(row: Float32Array | number[]): number[] {
  const mx = Math.max(...row);
  const lse = mx + Math.log(Array.from(row).reduce((s, x) => s + Math.exp(x - mx), 0));
  return Array.from(row, (x) => x - lse);
}

test('beam search as wide as every candidate returns the best-scoring sequence (exhaustive, vocab 5)', async (t) => {
  const V = 5;
  const N = 3;
  const dir = await writeTinyQwen2(
    { vocab: V, hidden: 16, heads: 4, kvHeads: 2, layers: 2, inter: 24, tied: false },
    7,
  );
  const model = await Model.load('qwen2', dir);
  const prompt = [3, 1, 4];
  // Every continuation (t1, t2, t3): one batched forward over prompt + t1 + t2.
  const seqs: number[][] = [];
  for (let i = 0; i < V ** N; i++) seqs.push([Math.floor(i / 25) % 5, Math.floor(i / 5) % 5, i % 5]);
  const { logits } = await model.run('forward', { input_ids: ids(seqs.map((s) => [...prompt, s[0]!, s[1]!])) });
  const L = prompt.length + 2;
  const lg = logits!.toFloat32();
  const sums = seqs.map((s, r) =>
    s.reduce(
      (acc, tok, j) =>
        acc + logSoftmax(lg.subarray((r * L + prompt.length - 1 + j) * V, (r * L + prompt.length + j) * V))[tok]!,
      0,
    ),
  );
  const order = sums.map((_, i) => i).sort((a, b) => sums[b]! - sums[a]!);
  for (const lengthPenalty of [1.0, 2.0]) {
    const out = await model.run(
      'generate',
      { input_ids: ids([prompt]) },
      {
        maxNewTokens: N,
        numBeams: V ** N,
        numReturnSequences: 10,
        earlyStopping: true,
        lengthPenalty,
      },
    );
    t.deepEqual(out.ids!.shape, [10, N]);
    t.deepEqual(asNumbers(out.ids!).slice(0, N), seqs[order[0]!], `length_penalty ${lengthPenalty}`);
    const scores = out.sequences_scores!.toFloat32();
    for (let k = 0; k < 10; k++)
      t.true(Math.abs(scores[k]! - sums[order[k]!]! / N ** lengthPenalty) < 1e-4, `rank ${k}`);
  }
  model.dispose();
});

test('KV-cached greedy decoding of a left-padded batch equals full forwards of each prompt alone', async (t) => {
  const dir = await writeTinyQwen2(
    { vocab: 11, hidden: 24, heads: 6, kvHeads: 2, layers: 2, inter: 40, tied: true },
    11,
  );
  const model = await Model.load('qwen2', dir);
  const prompts = [
    [5, 2, 9, 9, 1, 7],
    [3, 8, 6, 2],
  ];
  const padded = [prompts[0]!, [0, 0, ...prompts[1]!]];
  const mask = ids(padded.map((r, i) => r.map((_, j) => (i === 1 && j < 2 ? 0 : 1))));
  const out = await model.run('generate', { input_ids: ids(padded), attention_mask: mask }, { maxNewTokens: 6 });
  const got = asNumbers(out.ids!);
  for (const [i, p] of prompts.entries()) {
    const seq = [...p];
    for (let s = 0; s < 6; s++) {
      const { logits } = await model.run('forward', { input_ids: ids([seq]) });
      const last = logits!.toFloat32().subarray((seq.length - 1) * 11, seq.length * 11);
      seq.push(last.indexOf(Math.max(...last)));
    }
    t.deepEqual(got.slice(i * 6, i * 6 + 6), seq.slice(p.length), `row ${i}`);
  }
  model.dispose();
});

test('sampling is seeded; top_k 1 is greedy; no_repeat_ngram_size 1 never repeats a token', async (t) => {
  const dir = await writeTinyQwen2(
    { vocab: 13, hidden: 16, heads: 2, kvHeads: 1, layers: 1, inter: 16, tied: true },
    3,
  );
  const model = await Model.load('qwen2', dir);
  const input_ids = ids([[1, 2, 3]]);
  const greedy = asNumbers((await model.run('generate', { input_ids }, { maxNewTokens: 8 })).ids!);
  const top1 = asNumbers(
    (await model.run('generate', { input_ids }, { maxNewTokens: 8, doSample: true, topK: 1, seed: 5 })).ids!,
  );
  t.deepEqual(top1, greedy);
  const opts = { maxNewTokens: 8, doSample: true, temperature: 1.5, topP: 0.9, seed: 42, numReturnSequences: 3 };
  const a = await model.run('generate', { input_ids }, opts);
  const b = await model.run('generate', { input_ids }, opts);
  t.deepEqual(a.ids!.shape, [3, 8]);
  t.deepEqual(asNumbers(a.ids!), asNumbers(b.ids!));
  const fresh = asNumbers((await model.run('generate', { input_ids }, { maxNewTokens: 8, noRepeatNgramSize: 1 })).ids!);
  t.is(new Set([1, 2, 3, ...fresh]).size, 11);
  const penalised = asNumbers(
    (await model.run('generate', { input_ids }, { maxNewTokens: 8, repetitionPenalty: 1e6 })).ids!,
  );
  t.is(new Set([1, 2, 3, ...penalised]).size, 11);
  model.dispose();
});

test('loss is the mean shifted cross-entropy over non-ignored labels, with a gradient to inputs_embeds', async (t) => {
  const dir = await writeTinyQwen2({ vocab: 9, hidden: 16, heads: 4, kvHeads: 4, layers: 1, inter: 20, tied: true }, 5);
  const model = await Model.load('qwen2', dir);
  const u = rng(1);
  const x = Tensor.from(
    Float32Array.from({ length: 2 * 5 * 16 }, () => u() - 0.5),
    [2, 5, 16],
  );
  const labels = ids([
    [-100, 4, 2, 8, 1],
    [-100, -100, 3, 0, -100],
  ]);
  const mask = ids([
    [1, 1, 1, 1, 1],
    [1, 1, 1, 1, 0],
  ]);
  const { logits } = await model.run('forward', { inputs_embeds: x, attention_mask: mask });
  const lg = logits!.toFloat32();
  const lab = asNumbers(labels);
  let sum = 0;
  let count = 0;
  for (let b = 0; b < 2; b++)
    for (let j = 0; j < 4; j++) {
      const target = lab[b * 5 + j + 1]!;
      if (target === -100) continue;
      sum -= logSoftmax(lg.subarray((b * 5 + j) * 9, (b * 5 + j + 1) * 9))[target]!;
      count++;
    }
  const xr = x.detach();
  xr.requiresGrad = true;
  const { loss } = await model.run('loss', { inputs_embeds: xr, attention_mask: mask, labels });
  t.deepEqual(loss!.shape, [1]);
  t.true(Math.abs(loss!.toFloat32()[0]! - sum / count) < 1e-5);
  await backward(loss!);
  const g = xr.grad!.toFloat32();
  t.true(g.some((v) => v !== 0));
  t.true(
    g.slice(4 * 16, 5 * 16).every((v) => v === 0),
    'the last position predicts nothing',
  );
  model.dispose();
});

test('qwen2 rejects bad configs, inputs and options with typed errors', async (t) => {
  const base = { vocab: 7, hidden: 8, heads: 2, kvHeads: 1, layers: 1, inter: 8, tied: true };
  const code = async (p: Promise<unknown>) => (await t.throwsAsync(p, { instanceOf: VlvError }))?.code;
  t.is(
    await code(
      Model.load('qwen2', await writeTinyQwen2({ ...base, extra: { rope_scaling: { type: 'linear', factor: 2 } } }, 1)),
    ),
    'E_ARG',
  );
  t.is(
    await code(Model.load('qwen2', await writeTinyQwen2({ ...base, extra: { use_sliding_window: true } }, 1))),
    'E_ARG',
  );
  t.is(await code(Model.load('qwen2', await writeTinyQwen2({ ...base, extra: { some_new_field: 3 } }, 1))), 'E_ARG');
  t.is(
    await code(
      Model.load('qwen2', await writeTinyQwen2({ ...base, tied: true, extra: { tie_word_embeddings: false } }, 1)),
    ),
    'E_FILE_FORMAT',
  );
  const model = await Model.load('qwen2', await writeTinyQwen2(base, 1));
  const input_ids = ids([[1, 2]]);
  t.is(await code(model.run('nope', { input_ids })), 'E_ARG');
  t.is(await code(model.run('forward', {})), 'E_ARG');
  t.is(await code(model.run('forward', { input_ids, inputs_embeds: Tensor.zeros([1, 2, 8]) })), 'E_ARG');
  t.is(await code(model.run('forward', { inputs_embeds: Tensor.zeros([1, 2, 9]) })), 'E_SHAPE');
  t.is(await code(model.run('forward', { input_ids, attention_mask: ids([[1, 1, 1]]) })), 'E_SHAPE');
  t.is(await code(model.run('loss', { input_ids })), 'E_ARG');
  t.is(await code(model.run('generate', { input_ids }, { numBeams: 2, numReturnSequences: 3 })), 'E_ARG');
  t.is(await code(model.run('generate', { input_ids }, { maxNewTokens: 0 })), 'E_ARG');
  t.is(await code(model.run('generate', { input_ids }, { numBeams: 2, doSample: true })), 'E_ARG');
  t.is(await code(model.run('generate', { input_ids }, { topP: 0 })), 'E_ARG');
  t.is(await code(model.run('generate', { input_ids }, { beams: 2 })), 'E_ARG');
  model.dispose();
});

test('forward returns the hidden states on request, as transformers output_hidden_states', async (t) => {
  const { Model, ops } = await import('../../lib/index.js');
  const folder = goldenPath('qwen2');
  const model = await Model.load('qwen2', folder);
  const embeds = await ops.randn([1, 5, 64], 7);
  const plain = await model.run('forward', { inputs_embeds: embeds });
  t.deepEqual(Object.keys(plain), ['logits']);
  const out = await model.run('forward', { inputs_embeds: embeds }, { outputHiddenStates: true });
  const hidden = Object.keys(out)
    .filter((k) => k.startsWith('hidden_states.'))
    .sort();
  t.is(hidden.length, 3); // embeddings + 2 layers (the last one final-normed)
  t.deepEqual(Array.from(out['hidden_states.0']!.toFloat32()), Array.from(embeds.toFloat32()));
  const head = model.parameters()['model.embed_tokens.weight']!; // tied
  const logits = await ops.linear(out['hidden_states.2']!, head);
  const a = logits.toFloat32();
  const b = plain.logits!.toFloat32();
  t.true(a.every((v, i) => Math.abs(v - b[i]!) <= 1e-5 * (1 + Math.abs(b[i]!))));
  model.dispose();
});

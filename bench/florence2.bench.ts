/**
 * Florence-2-large-shaped vision tower + encoder forward on CPU (random weights, 768x768 image,
 * the <MORE_DETAILED_CAPTION> prompt's 12 tokens): florence2.image_features -> merge -> encoder,
 * beside PyTorch CPU running bench/peers/torch_florence2.py (a compact float32 re-implementation
 * of the same forward on the same weights, 2 threads) and beside the FLOP count.
 *
 * Shapes are Florence-2-large's config.json (DaViT dims [256, 512, 1024, 2048], depths
 * [1, 1, 9, 1], heads = groups [8, 16, 32, 64], window 12, patches 7/4/3 then 3/2/1; projection
 * 1024; BART d_model 1024, 12 encoder layers, 16 heads, ffn 4096). Not timed, so shrunk to save
 * memory: vocab_size 1024 (only the prompt's rows are read) and decoder_layers 0. The weights
 * are written from TS to a temporary folder (uniform, scaled by 1/sqrt(fan_in); norms 1, biases 0).
 * --quick: a tiny config (dims [16, 32], 64x64).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Model, noGrad, saveSafetensors, Tensor } from '../lib/index.js';
import { row, runPeer, timeMs, type BenchContext, type BenchRow } from './lib.js';

interface Shape {
  dims: number[];
  depths: number[];
  heads: number[];
  patch: number[];
  stride: number[];
  padding: number[];
  prenorm: boolean[];
  window: number;
  proj: number;
  d: number;
  layers: number;
  textHeads: number;
  ffn: number;
  image: number;
}

const LARGE: Shape = {
  dims: [256, 512, 1024, 2048],
  depths: [1, 1, 9, 1],
  heads: [8, 16, 32, 64],
  patch: [7, 3, 3, 3],
  stride: [4, 2, 2, 2],
  padding: [3, 1, 1, 1],
  prenorm: [false, true, true, true],
  window: 12,
  proj: 1024,
  d: 1024,
  layers: 12,
  textHeads: 16,
  ffn: 4096,
  image: 768,
};
const TINY: Shape = {
  dims: [16, 32],
  depths: [1, 1],
  heads: [2, 4],
  patch: [7, 3],
  stride: [4, 2],
  padding: [3, 1],
  prenorm: [false, true],
  window: 2,
  proj: 32,
  d: 32,
  layers: 2,
  textHeads: 4,
  ffn: 64,
  image: 64,
};
const VOCAB = 1024;
const PROMPT = [0, 47066, 21700, 19, 10, 17818, 99, 16, 2343, 11, 5, 2]; // token count of the real prompt

function config(s: Shape) {
  return {
    model_type: 'florence2',
    architectures: ['Florence2ForConditionalGeneration'],
    bos_token_id: 0,
    eos_token_id: 2,
    pad_token_id: 1,
    ignore_index: -100,
    projection_dim: s.proj,
    vocab_size: VOCAB,
    is_encoder_decoder: true,
    text_config: {
      model_type: 'florence2_language',
      vocab_size: VOCAB,
      activation_function: 'gelu',
      d_model: s.d,
      encoder_layers: s.layers,
      encoder_attention_heads: s.textHeads,
      encoder_ffn_dim: s.ffn,
      decoder_layers: 0,
      decoder_attention_heads: s.textHeads,
      decoder_ffn_dim: s.ffn,
      max_position_embeddings: 1024,
      scale_embedding: false,
      decoder_start_token_id: 2,
      forced_bos_token_id: 0,
      forced_eos_token_id: 2,
      eos_token_id: 2,
      pad_token_id: 1,
      bos_token_id: 0,
      num_beams: 3,
      no_repeat_ngram_size: 3,
      early_stopping: true,
    },
    vision_config: {
      model_type: 'davit',
      drop_path_rate: 0.1,
      patch_size: s.patch,
      patch_stride: s.stride,
      patch_padding: s.padding,
      patch_prenorm: s.prenorm,
      enable_checkpoint: false,
      dim_embed: s.dims,
      num_heads: s.heads,
      num_groups: s.heads,
      depths: s.depths,
      window_size: s.window,
      projection_dim: s.proj,
      visual_temporal_embedding: { type: 'COSINE', max_temporal_embeddings: 100 },
      image_pos_embed: { type: 'learned_abs_2d', max_pos_embeddings: 50 },
      image_feature_source: ['spatial_avg_pool', 'temporal_avg_pool'],
    },
  };
}

/** Every weight of the folder under the reference's names: [name, shape, kind]. */
function weightList(s: Shape): [string, number[], 'mat' | 'one' | 'zero' | 'emb'][] {
  const w: [string, number[], 'mat' | 'one' | 'zero' | 'emb'][] = [];
  const lin = (p: string, i: number, o: number) => w.push([`${p}.weight`, [o, i], 'mat'], [`${p}.bias`, [o], 'zero']);
  const norm = (p: string, d: number) => w.push([`${p}.weight`, [d], 'one'], [`${p}.bias`, [d], 'zero']);
  s.dims.forEach((d, i) => {
    const cin = i === 0 ? 3 : s.dims[i - 1]!;
    w.push(
      [`vision_tower.convs.${i}.proj.weight`, [d, cin, s.patch[i]!, s.patch[i]!], 'mat'],
      [`vision_tower.convs.${i}.proj.bias`, [d], 'zero'],
    );
    norm(`vision_tower.convs.${i}.norm`, s.prenorm[i] ? cin : d);
    for (let j = 0; j < s.depths[i]!; ++j)
      for (const [blk, attn] of [
        ['spatial_block', 'window_attn'],
        ['channel_block', 'channel_attn'],
      ] as const) {
        const p = `vision_tower.blocks.${i}.${j}.${blk}.`;
        for (const c of ['conv1', 'conv2'])
          w.push([`${p}${c}.fn.dw.weight`, [d, 1, 3, 3], 'mat'], [`${p}${c}.fn.dw.bias`, [d], 'zero']);
        norm(`${p}${attn}.norm`, d);
        lin(`${p}${attn}.fn.qkv`, d, 3 * d);
        lin(`${p}${attn}.fn.proj`, d, d);
        norm(`${p}ffn.norm`, d);
        lin(`${p}ffn.fn.net.fc1`, d, 4 * d);
        lin(`${p}ffn.fn.net.fc2`, 4 * d, d);
      }
  });
  const D = s.dims[s.dims.length - 1]!;
  w.push(
    ['image_pos_embed.row_embeddings.weight', [50, D / 2], 'emb'],
    ['image_pos_embed.column_embeddings.weight', [50, D - D / 2], 'emb'],
  );
  w.push(['visual_temporal_embed.pos_idx_to_embed', [100, D], 'emb'], ['image_projection', [s.proj, D], 'mat']);
  w[w.length - 1]![1] = [D, s.proj]; // image_projection is [D, proj] (x @ W); fan-in D
  norm('image_proj_norm', s.proj);
  const lm = 'language_model.';
  w.push([`${lm}model.shared.weight`, [VOCAB, s.d], 'emb'], [`${lm}final_logits_bias`, [1, VOCAB], 'zero']);
  for (const side of ['encoder', 'decoder']) {
    const p = `${lm}model.${side}.`;
    w.push([`${p}embed_positions.weight`, [1026, s.d], 'emb']);
    norm(`${p}layernorm_embedding`, s.d);
    for (let l = 0; l < (side === 'encoder' ? s.layers : 0); ++l) {
      const lp = `${p}layers.${l}.`;
      for (const pr of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) lin(`${lp}self_attn.${pr}`, s.d, s.d);
      norm(`${lp}self_attn_layer_norm`, s.d);
      lin(`${lp}fc1`, s.d, s.ffn);
      lin(`${lp}fc2`, s.ffn, s.d);
      norm(`${lp}final_layer_norm`, s.d);
    }
  }
  return w;
}

function randomTensor(shape: number[], kind: 'mat' | 'one' | 'zero' | 'emb', seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  if (kind === 'one') a.fill(1);
  else if (kind !== 'zero') {
    const fanIn = kind === 'emb' ? 1 : shape.slice(1).reduce((x, y) => x * y, 1) || 1;
    const scale = (kind === 'emb' ? 0.02 : Math.sqrt(3 / fanIn)) * 2;
    let x = (seed * 2654435761) >>> 0 || 1;
    for (let i = 0; i < n; ++i) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      a[i] = ((x >>> 0) / 4294967296 - 0.5) * scale;
    }
  }
  return Tensor.from(a, shape);
}

/** FLOPs of the forward (2 per multiply-add: matmuls, convs, attention scores and values). */
function flops(s: Shape, tokens: number): number {
  let f = 0,
    h = s.image;
  s.dims.forEach((d, i) => {
    const cin = i === 0 ? 3 : s.dims[i - 1]!;
    h = Math.floor((h + 2 * s.padding[i]! - s.patch[i]!) / s.stride[i]!) + 1;
    const n = h * h,
      win = s.window * s.window,
      padded = Math.ceil(h / s.window) ** 2 * win;
    f += 2 * n * d * cin * s.patch[i]! ** 2; // patch embedding
    const linears = 2 * n * 12 * d * d; // qkv 3d^2 + proj d^2 + mlp 8d^2
    const dwconvs = 2 * 2 * n * d * 9;
    const windowAttn = 2 * 2 * padded * win * d;
    const channelAttn = 2 * 2 * n * d * (d / s.heads[i]!);
    f += s.depths[i]! * (2 * (linears + dwconvs) + windowAttn + channelAttn);
  });
  f += 2 * (h * h + 1) * s.dims[s.dims.length - 1]! * s.proj; // image_projection
  f += s.layers * (2 * tokens * 4 * s.d * s.d + 2 * tokens * 2 * s.d * s.ffn + 2 * 2 * tokens * tokens * s.d);
  return f;
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const s = ctx.quick ? TINY : LARGE;
  const reps = ctx.quick ? 1 : 3;
  const dir = mkdtempSync(join(tmpdir(), 'vlv-bench-florence2-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config(s)));
    const weights: Record<string, Tensor> = {};
    weightList(s).forEach(([name, shape, kind], i) => (weights[name] = randomTensor(shape, kind, i + 1)));
    await saveSafetensors(join(dir, 'model.safetensors'), weights);
    for (const t of Object.values(weights)) t.dispose();

    const model = await Model.load('florence2', dir);
    const pixels = randomTensor([1, 3, s.image, s.image], 'mat', 99);
    const ids = Tensor.from(
      PROMPT.map((v) => v % VOCAB),
      [1, PROMPT.length],
      'i64',
    );
    let tokens = 0;
    const forward = () =>
      noGrad(async () => {
        const { image_features } = await model.run('image_features', { pixel_values: pixels });
        const { inputs_embeds } = await model.run('merge', { image_features: image_features!, input_ids: ids });
        const { last_hidden_state } = await model.run('encoder', { inputs_embeds: inputs_embeds! });
        tokens = last_hidden_state!.shape[1]!;
        for (const t of [image_features, inputs_embeds, last_hidden_state]) t!.dispose();
      });
    const ms = await timeMs(forward, reps, 1);
    model.dispose();
    const peer = ctx.hasTorch
      ? runPeer<{ ms: number }>('torch_florence2.py', {
          folder: dir,
          reps,
          image: s.image,
          prompt: PROMPT.map((v) => v % VOCAB),
        })
      : null;
    const gflop = flops(s, tokens) / 1e9;
    const shape = `${s.image}x${s.image}, ${tokens} tokens`;
    return [
      row(
        `florence2${ctx.quick ? '-tiny' : '-large'} tower+encoder`,
        shape,
        ms,
        'ms',
        peer ? 'torch 1.13' : null,
        peer?.ms ?? null,
        false,
        `${gflop.toFixed(1)} GFLOP, ${(gflop / (ms / 1e3)).toFixed(1)} GFLOP/s`,
      ),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

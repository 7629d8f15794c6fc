/**
 * A Qwen2 model folder with random weights (Philox normals from the engine, so even a
 * 0.5B-parameter folder is written in seconds): config.json, model.safetensors in f32 or bf16,
 * and optionally a tokenizer copied from another folder. Used by tests and bench/decode.
 */
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ops, saveSafetensors, type Tensor } from '../../lib/index.js';

export interface Qwen2Shape {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  vocab_size: number;
  tie_word_embeddings: boolean;
  rope_theta?: number;
  rms_norm_eps?: number;
}

export interface RandomQwen2Options {
  seed?: number;
  dtype?: 'f32' | 'bf16';
  /** A folder whose tokenizer.json / tokenizer_config.json are copied in. */
  tokenizerFrom?: string;
  /** Written as generation_config.json. */
  generationConfig?: Record<string, unknown>;
}

export async function writeRandomQwen2(shape: Qwen2Shape, opts: RandomQwen2Options = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-qwen2-random-'));
  const config = {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_act: 'silu',
    attention_dropout: 0.0,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    rope_theta: 1e6,
    rope_scaling: null,
    sliding_window: 32768,
    use_sliding_window: false,
    max_window_layers: 21,
    torch_dtype: opts.dtype === 'bf16' ? 'bfloat16' : 'float32',
    use_cache: true,
    ...shape,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 1));
  if (opts.generationConfig) writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(opts.generationConfig));
  if (opts.tokenizerFrom) {
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
      if (existsSync(join(opts.tokenizerFrom, f))) copyFileSync(join(opts.tokenizerFrom, f), join(dir, f));
    }
  }

  const seed = opts.seed ?? 1;
  let stream = 0;
  const h = shape.hidden_size,
    inter = shape.intermediate_size;
  const d = h / shape.num_attention_heads,
    kv = shape.num_key_value_heads * d;
  // N(0, scale^2) (each tensor its own Philox offset), stored in the folder's dtype.
  const normal = async (dims: number[], scale: number, shift = 0): Promise<Tensor> => {
    const r = await ops.randn(dims, seed, stream++ * 2 ** 32);
    const x = await ops.scale(r, scale, shift);
    r.dispose();
    if (opts.dtype !== 'bf16') return x;
    const c = await ops.cast(x, 'bf16');
    x.dispose();
    return c;
  };
  const mat = (out: number, inp: number) => normal([out, inp], 1 / Math.sqrt(inp));
  const w: Record<string, Tensor> = { 'model.embed_tokens.weight': await normal([shape.vocab_size, h], 1) };
  for (let i = 0; i < shape.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    w[p + 'input_layernorm.weight'] = await normal([h], 0.1, 1);
    w[p + 'post_attention_layernorm.weight'] = await normal([h], 0.1, 1);
    w[p + 'self_attn.q_proj.weight'] = await mat(h, h);
    w[p + 'self_attn.q_proj.bias'] = await normal([h], 0.1);
    w[p + 'self_attn.k_proj.weight'] = await mat(kv, h);
    w[p + 'self_attn.k_proj.bias'] = await normal([kv], 0.1);
    w[p + 'self_attn.v_proj.weight'] = await mat(kv, h);
    w[p + 'self_attn.v_proj.bias'] = await normal([kv], 0.1);
    w[p + 'self_attn.o_proj.weight'] = await mat(h, h);
    w[p + 'mlp.gate_proj.weight'] = await mat(inter, h);
    w[p + 'mlp.up_proj.weight'] = await mat(inter, h);
    w[p + 'mlp.down_proj.weight'] = await mat(h, inter);
  }
  w['model.norm.weight'] = await normal([h], 0.1, 1);
  if (!shape.tie_word_embeddings) w['lm_head.weight'] = await mat(shape.vocab_size, h);
  await saveSafetensors(join(dir, 'model.safetensors'), w);
  for (const t of Object.values(w)) t.dispose();
  return dir;
}

/** Bytes a decode step reads from the weight matrices (everything but norms and biases are tiny). */
export function weightBytesPerToken(shape: Qwen2Shape, bytesPerValue: number): number {
  const h = shape.hidden_size,
    inter = shape.intermediate_size;
  const kv = (h / shape.num_attention_heads) * shape.num_key_value_heads;
  const perLayer = h * h * 2 + kv * h * 2 + inter * h * 3;
  // The LM head reads the whole [vocab, hidden] matrix; the embedding only one row.
  return (shape.num_hidden_layers * perLayer + shape.vocab_size * h) * bytesPerValue;
}

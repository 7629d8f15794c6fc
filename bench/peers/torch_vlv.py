"""Peer for bench/vlv.bench.ts: the VLV components in PyTorch 2.x CPU (2 threads, no_grad) at the
same shapes, with random weights, built from the same folder's configs (bench/vlv-row.ts writes it).

- encode: Florence-2 (transformers' Florence2Model: DaViT tower + projector, the BART encoder on
  [image tokens; prompt embeddings], the BART decoder on the 77 learned queries cross-attending to
  it), language_proj (Linear, GELU, Linear), CLIP's text transformer on z (inputs_embeds, causal):
  c. As VLV's SDModel.get_conditional_context.
- caption: encode, then Qwen2ForCausalLM.generate(inputs_embeds = mlp(c) in bf16, beams, a fixed
  number of new tokens: no eos), as VLV's CLIPDecoder.generate.
- reconstruct: one guided step (the UNet on [uncond; cond] at batch 2, 77-token contexts, then
  eps_u + g (eps_c - eps_u)) and the VAE decode. diffusers is not installable offline: the UNet is
  scripts/models/gen_unet_variants.py's re-implementation of diffusers' UNet2DConditionModel (run
  in float32, attention through F.scaled_dot_product_attention) and the VAE decoder
  scripts/models/gen_vae.py's of AutoencoderKL.
dtype bf16: the modules' weights and activations in bfloat16 (the usual transformers bf16
inference); f32: float32. argv[1]: {"mode", "folder", "dtype", "reps", "prompt", "newTokens",
"beams", "side"}. Prints {"times": {part: [ms, ...]}, "peakGiB", "loadS", "torch", "transformers"}.
"""
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import CLIPTextConfig, CLIPTextModel, Florence2Config, Florence2Model, Qwen2Config, Qwen2ForCausalLM
from transformers.masking_utils import create_causal_mask

torch.set_num_threads(2)
torch.manual_seed(0)
req = json.loads(sys.argv[1])
folder = req['folder']
DT = torch.bfloat16 if req.get('dtype') == 'bf16' else torch.float32
reps = req.get('reps', 3)
times = {}


def cfg(part, file='config.json'):
    with open(os.path.join(folder, part, file)) as f:
        return json.load(f)


def timed(name, fn, warm=True):
    out = None
    for i in range(-1 if warm else 0, reps):
        t0 = time.perf_counter()
        out = fn()
        if i >= 0:
            times.setdefault(name, []).append((time.perf_counter() - t0) * 1e3)
    return out


def only(c, keys):
    # The structural fields (the configs went through JSON.stringify, so 1.0 reads back as 1).
    return {k: float(c[k]) if k in ('layer_norm_eps', 'rms_norm_eps', 'rope_theta') else c[k] for k in keys if k in c}


CLIP_KEYS = ('hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'max_position_embeddings',
             'vocab_size', 'hidden_act', 'layer_norm_eps', 'projection_dim', 'bos_token_id', 'eos_token_id', 'pad_token_id')
QWEN_KEYS = ('hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads',
             'vocab_size', 'hidden_act', 'rms_norm_eps', 'rope_theta', 'tie_word_embeddings', 'max_position_embeddings')


def heads(d_in, d_mid, d_out):
    return torch.nn.Sequential(torch.nn.Linear(d_in, d_mid), torch.nn.GELU(), torch.nn.Linear(d_mid, d_out))


t_load = time.perf_counter()
if req['mode'] in ('encode', 'caption'):
    fc = cfg('florence2')
    t, v = fc['text_config'], fc['vision_config']
    text = {k: t[k] for k in ('vocab_size', 'd_model', 'encoder_layers', 'decoder_layers', 'encoder_attention_heads',
                              'decoder_attention_heads', 'encoder_ffn_dim', 'decoder_ffn_dim', 'max_position_embeddings',
                              'activation_function', 'scale_embedding', 'pad_token_id', 'bos_token_id', 'eos_token_id',
                              'decoder_start_token_id')}
    vision = dict(embed_dim=v['dim_embed'], depths=v['depths'], num_heads=v['num_heads'], num_groups=v['num_groups'],
                  patch_size=v['patch_size'], patch_stride=v['patch_stride'], patch_padding=v['patch_padding'],
                  patch_prenorm=v['patch_prenorm'], window_size=v['window_size'], projection_dim=v['projection_dim'],
                  max_temporal_embeddings=v['visual_temporal_embedding']['max_temporal_embeddings'],
                  max_position_embeddings=v['image_pos_embed']['max_pos_embeddings'], drop_path_rate=0.0)
    florence = Florence2Model(Florence2Config(text_config=dict(model_type='bart', **text), vision_config=vision))
    florence = florence.to(DT).eval()
    clip = CLIPTextModel(CLIPTextConfig(**only(cfg('text_encoder'), CLIP_KEYS)))
    clip = clip.to(DT).eval()
    d, dc = t['d_model'], clip.config.hidden_size
    query = torch.randn(1, 77, d, dtype=DT) * 0.02
    proj = heads(d, dc, dc).to(DT)
    image = 768 if len(v['dim_embed']) == 4 else 64
    px = torch.randn(1, 3, image, image, dtype=DT)
    ids = torch.tensor([req['prompt']])

    def encode():
        feats = florence.get_image_features(px).pooler_output
        embeds = torch.cat([feats, florence.get_input_embeddings()(ids)], 1)
        enc = florence.language_model.encoder(inputs_embeds=embeds).last_hidden_state
        dec = florence.language_model.decoder(inputs_embeds=query, encoder_hidden_states=enc,
                                              use_cache=False).last_hidden_state
        z = proj(dec)
        tm = getattr(clip, 'text_model', clip)  # transformers 5: CLIPTextModel is the text transformer itself
        h = tm.embeddings(inputs_embeds=z)
        mask = create_causal_mask(config=clip.config, inputs_embeds=h, attention_mask=None, past_key_values=None)
        h = tm.encoder(inputs_embeds=h, attention_mask=mask, is_causal=True).last_hidden_state
        return tm.final_layer_norm(h)

    if req['mode'] == 'caption':
        qc = cfg('qwen2')
        torch.set_default_dtype(torch.bfloat16)  # built in bf16: no 12 GiB f32 copy of the 3B first
        qwen = Qwen2ForCausalLM(Qwen2Config(**only(qc, QWEN_KEYS))).eval()  # the captioner in bf16 (the official cast)
        torch.set_default_dtype(torch.float32)
        mlp = heads(dc, qc['hidden_size'], qc['hidden_size']).to(DT)
    load_s = time.perf_counter() - t_load
    with torch.no_grad():
        c = timed('encode', encode)
        if req['mode'] == 'caption':
            prefix = mlp(c).to(torch.bfloat16)
            n = req.get('newTokens', 32)

            def generate():
                out = qwen.generate(inputs_embeds=prefix, attention_mask=torch.ones(prefix.shape[:2], dtype=torch.long),
                                    num_beams=req.get('beams', 4), max_new_tokens=n, min_new_tokens=n,
                                    early_stopping=True, do_sample=False, eos_token_id=None, pad_token_id=0)
                assert out.shape[1] == n, out.shape  # new tokens only (inputs_embeds without ids)
                return out

            timed('generate', generate)
else:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts', 'models'))
    import gen_unet_variants as U  # noqa: E402
    import gen_vae as V  # noqa: E402

    U.DT = DT

    def sdpa(P, name, x, ctx, qdim, cdim, heads_, head_dim, mask):
        inner = heads_ * head_dim
        split = lambda y: y.reshape(y.shape[0], y.shape[1], heads_, head_dim).transpose(1, 2)  # noqa: E731
        q = split(U.linear(P, name + '.to_q', x, qdim, inner, bias=False))
        k = split(U.linear(P, name + '.to_k', ctx, cdim, inner, bias=False))
        val = split(U.linear(P, name + '.to_v', ctx, cdim, inner, bias=False))
        o = F.scaled_dot_product_attention(q, k, val).transpose(1, 2).reshape(x.shape[0], x.shape[1], inner)
        return U.linear(P, name + '.to_out.0', o, inner, qdim)

    U.attention = sdpa
    ucfg = dict(U.DEFAULTS, **{k: x for k, x in cfg('unet').items() if not k.startswith('_')})
    P = U.Params(torch.Generator().manual_seed(1))
    vcfg = dict(cfg('vae'))
    vcfg.setdefault('mid_block_add_attention', True)
    vcfg.setdefault('use_quant_conv', True)
    vcfg.setdefault('use_post_quant_conv', True)
    vw = V.make_weights(V.param_layout(vcfg, False), torch.Generator().manual_seed(2))
    vae = V.Ref(vcfg, {k: x.to(DT) for k, x in vw.items()}, False)
    V.EPS = 1e-6
    clip = CLIPTextModel(CLIPTextConfig(**only(cfg('text_encoder'), CLIP_KEYS)))
    clip = clip.to(DT).eval()
    dc = clip.config.hidden_size
    factor = 2 ** (len(vcfg['block_out_channels']) - 1)
    side = req.get('side', 384) // factor
    cond = torch.randn(1, 77, dc, dtype=DT)
    vocab = clip.config.vocab_size
    uncond_ids = torch.tensor([[vocab - 2] + [vocab - 1] * 76])
    latents = torch.randn(1, ucfg['in_channels'], side, side, dtype=DT)
    with torch.no_grad():
        U.unet(P, ucfg, latents, torch.tensor([999]), cond)  # creates the weights (not timed)
        uncond = clip(input_ids=uncond_ids).last_hidden_state  # before the steps, as the engine's
    load_s = time.perf_counter() - t_load

    def step():
        eps = U.unet(P, ucfg, torch.cat([latents, latents]), torch.tensor([999]), torch.cat([uncond, cond]))
        eu, ec = eps.chunk(2)
        return eu + 2.0 * (ec - eu)

    with torch.no_grad():
        timed('step', step)
        timed('vae', lambda: vae.decode(latents / 0.18215))

print(json.dumps({'times': times, 'loadS': load_s, 'torch': torch.__version__, 'transformers': transformers.__version__,
                  'peakGiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}))

"""A second Florence-2 folder, other sizes than the shared golden one, for test/conformance/florence2.test.ts.

Writes test/fixtures/models/florence2-alt/ in the golden format (config.json, model.safetensors
with the reference's key names, cases.json, cases.safetensors). The expected outputs come from
the float64 reference below, written from Florence-2's published architecture
(modeling_florence2.py: DaViT + LearnedAbsolutePositionEmbedding2D + PositionalEmbeddingCosine1D
+ BART encoder/decoder), run on float64 copies of the float32 weights and inputs.

What differs from the golden folder: 3 stages with depths [1, 2, 1], a stage-0 pre-norm
(present in the checkpoint, unused by the reference on image input), window 3 with maps that
are not multiples of it, head dim 8, channel groups != heads, image_feature_source in the other
order, an untied lm_head, no stored embed_tokens aliases, 1 encoder / 2 decoder layers, a query attention mask with padding.

Run: /usr/bin/python3 scripts/models/gen_florence2_alt.py
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures'))
from common import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'models', 'florence2-alt')

V = dict(depths=[1, 2, 1], dim_embed=[8, 16, 24], num_heads=[1, 2, 3], num_groups=[2, 4, 3],
         patch_size=[5, 3, 3], patch_stride=[3, 2, 2], patch_padding=[2, 1, 1], patch_prenorm=[True, False, True],
         window_size=3, projection_dim=20, max_pos=12, max_t=10,
         sources=['temporal_avg_pool', 'spatial_avg_pool'])
T = dict(d_model=20, heads=(5, 4), ffn=(36, 28), layers=(1, 2), vocab=61, positions=40)

gen = torch.Generator().manual_seed(1234)
W = {}


def param(name, *shape, kind='mat'):
    if kind == 'mat':
        fan_in = shape[1] if len(shape) == 2 else math.prod(shape[1:])
        t = torch.randn(*shape, generator=gen) / math.sqrt(fan_in)
    elif kind == 'bias':
        t = torch.randn(*shape, generator=gen) * 0.1
    elif kind == 'normw':
        t = 1 + 0.1 * torch.randn(*shape, generator=gen)
    elif kind == 'emb':
        t = torch.randn(*shape, generator=gen) * 0.5
    W[name] = t.float()


def linear(p, i, o):
    param(p + '.weight', o, i)
    param(p + '.bias', o, kind='bias')


def norm(p, d):
    param(p + '.weight', d, kind='normw')
    param(p + '.bias', d, kind='bias')


# ---- weights, reference names ----
dims = V['dim_embed']
for i, d in enumerate(dims):
    cin = 3 if i == 0 else dims[i - 1]
    k = V['patch_size'][i]
    param(f'vision_tower.convs.{i}.proj.weight', d, cin, k, k)
    param(f'vision_tower.convs.{i}.proj.bias', d, kind='bias')
    norm(f'vision_tower.convs.{i}.norm', cin if V['patch_prenorm'][i] else d)
    for j in range(V['depths'][i]):
        for blk, attn in (('spatial_block', 'window_attn'), ('channel_block', 'channel_attn')):
            p = f'vision_tower.blocks.{i}.{j}.{blk}.'
            for c in ('conv1', 'conv2'):
                param(p + c + '.fn.dw.weight', d, 1, 3, 3)
                param(p + c + '.fn.dw.bias', d, kind='bias')
            norm(p + attn + '.norm', d)
            linear(p + attn + '.fn.qkv', d, 3 * d)
            linear(p + attn + '.fn.proj', d, d)
            norm(p + 'ffn.norm', d)
            linear(p + 'ffn.fn.net.fc1', d, 4 * d)
            linear(p + 'ffn.fn.net.fc2', 4 * d, d)
D = dims[-1]
param('image_pos_embed.row_embeddings.weight', V['max_pos'], D // 2, kind='emb')
param('image_pos_embed.column_embeddings.weight', V['max_pos'], D - D // 2, kind='emb')
param('image_projection', D, V['projection_dim'])
norm('image_proj_norm', V['projection_dim'])
# the cosine table (a buffer in the reference, saved with the weights)
den = torch.exp(-math.log(10000) * torch.arange(0, D, 2) / D)
freq = torch.arange(0, V['max_t']).reshape(-1, 1) * den
cos_table = torch.zeros(V['max_t'], D)
cos_table[:, 0::2] = torch.sin(freq)
cos_table[:, 1::2] = torch.cos(freq)
W['visual_temporal_embed.pos_idx_to_embed'] = cos_table.float()

d = T['d_model']
lm = 'language_model.'
param(lm + 'model.shared.weight', T['vocab'], d, kind='emb')
# encoder/decoder.embed_tokens alias `shared`; this checkpoint leaves the aliases out
param(lm + 'lm_head.weight', T['vocab'], d)
param(lm + 'final_logits_bias', 1, T['vocab'], kind='bias')
for side, s in (('encoder', 0), ('decoder', 1)):
    p = lm + f'model.{side}.'
    param(p + 'embed_positions.weight', T['positions'] + 2, d, kind='emb')
    norm(p + 'layernorm_embedding', d)
    for li in range(T['layers'][s]):
        lp = p + f'layers.{li}.'
        for a in ['self_attn'] + (['encoder_attn'] if side == 'decoder' else []):
            for pr in ('q_proj', 'k_proj', 'v_proj', 'out_proj'):
                linear(lp + a + '.' + pr, d, d)
            norm(lp + a + '_layer_norm', d)
        linear(lp + 'fc1', d, T['ffn'][s])
        linear(lp + 'fc2', T['ffn'][s], d)
        norm(lp + 'final_layer_norm', d)

# ---- float64 reference ----
R = {k: v.double() for k, v in W.items()}


def ln(x, p):
    return F.layer_norm(x, x.shape[-1:], R[p + '.weight'], R[p + '.bias'], 1e-5)


def lin(x, p):
    return F.linear(x, R[p + '.weight'], R[p + '.bias'])


def dwconv(x, p, h, w):  # residual conv position encoding on tokens
    b, n, c = x.shape
    y = F.conv2d(x.transpose(1, 2).reshape(b, c, h, w), R[p + '.weight'], R[p + '.bias'], padding=1, groups=c)
    return x + y.flatten(2).transpose(1, 2)


def mlp(x, p):
    return x + lin(F.gelu(lin(ln(x, p + 'ffn.norm'), p + 'ffn.fn.net.fc1')), p + 'ffn.fn.net.fc2')


def window_attn(x, p, h, w, heads, ws):
    b, n, c = x.shape
    x = x.view(b, h, w, c)
    pr, pb = (ws - w % ws) % ws, (ws - h % ws) % ws
    x = F.pad(x, (0, 0, 0, pr, 0, pb))
    hp, wp = h + pb, w + pr
    win = x.view(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
    bw = win.shape[0]
    qkv = lin(win, p + '.qkv').reshape(bw, ws * ws, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0] * (c // heads) ** -0.5, qkv[1], qkv[2]
    o = ((q @ k.transpose(-2, -1)).softmax(-1) @ v).transpose(1, 2).reshape(bw, ws * ws, c)
    o = lin(o, p + '.proj').view(b, hp // ws, wp // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
    return o[:, :h, :w].reshape(b, h * w, c)


def channel_attn(x, p, groups):
    b, n, c = x.shape
    qkv = lin(x, p + '.qkv').reshape(b, n, 3, groups, c // groups).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0] * n ** -0.5, qkv[1], qkv[2]
    a = (q.transpose(-1, -2) @ k).softmax(-1)
    o = (a @ v.transpose(-1, -2)).transpose(-1, -2).transpose(1, 2).reshape(b, n, c)
    return lin(o, p + '.proj')


def tower(px):
    x, (h, w) = px, px.shape[2:]
    for i, dim in enumerate(dims):
        cp = f'vision_tower.convs.{i}.'
        if x.dim() == 3:
            if V['patch_prenorm'][i]:
                x = ln(x, cp + 'norm')
            x = x.transpose(1, 2).reshape(x.shape[0], -1, h, w)
        x = F.conv2d(x, R[cp + 'proj.weight'], R[cp + 'proj.bias'], stride=V['patch_stride'][i],
                     padding=V['patch_padding'][i])
        h, w = x.shape[2:]
        x = x.flatten(2).transpose(1, 2)
        if not V['patch_prenorm'][i]:
            x = ln(x, cp + 'norm')
        for j in range(V['depths'][i]):
            p = f'vision_tower.blocks.{i}.{j}.spatial_block.'
            x = dwconv(x, p + 'conv1.fn.dw', h, w)
            x = x + window_attn(ln(x, p + 'window_attn.norm'), p + 'window_attn.fn', h, w, V['num_heads'][i],
                                V['window_size'])
            x = mlp(dwconv(x, p + 'conv2.fn.dw', h, w), p)
            p = f'vision_tower.blocks.{i}.{j}.channel_block.'
            x = dwconv(x, p + 'conv1.fn.dw', h, w)
            x = x + channel_attn(ln(x, p + 'channel_attn.norm'), p + 'channel_attn.fn', V['num_groups'][i])
            x = mlp(dwconv(x, p + 'conv2.fn.dw', h, w), p)
    return x, h, w


def image_features(px):
    x, h, w = tower(px)
    b = x.shape[0]
    col = R['image_pos_embed.column_embeddings.weight'][:w]
    row = R['image_pos_embed.row_embeddings.weight'][:h]
    pos = torch.cat([col.unsqueeze(0).repeat(h, 1, 1), row.unsqueeze(1).repeat(1, w, 1)], -1)
    x = x.view(b, h, w, D) + pos
    x = x.view(b, h * w, D) + R['visual_temporal_embed.pos_idx_to_embed'][0]
    feats = {'spatial_avg_pool': x.mean(1, keepdim=True), 'temporal_avg_pool': x}
    x = torch.cat([feats[s] for s in V['sources']], 1) @ R['image_projection']
    return ln(x, 'image_proj_norm')


def mha(x, kv, p, heads, mask):  # mask: additive [B, 1, Lq, Lk] or None
    b, lq, _ = x.shape
    hd = d // heads
    q = lin(x, p + '.q_proj').view(b, lq, heads, hd).transpose(1, 2) * hd ** -0.5
    k = lin(kv, p + '.k_proj').view(b, -1, heads, hd).transpose(1, 2)
    v = lin(kv, p + '.v_proj').view(b, -1, heads, hd).transpose(1, 2)
    s = q @ k.transpose(-1, -2)
    if mask is not None:
        s = s + mask
    return lin((s.softmax(-1) @ v).transpose(1, 2).reshape(b, lq, d), p + '.out_proj')


def key_mask(m, lq):
    return None if m is None else ((1 - m.double())[:, None, None, :] * torch.finfo(torch.float64).min).expand(-1, 1, lq, -1)


def encoder(e, m):
    p = lm + 'model.encoder.'
    h = ln(e + R[p + 'embed_positions.weight'][2:2 + e.shape[1]], p + 'layernorm_embedding')
    mk = key_mask(m, e.shape[1])
    for li in range(T['layers'][0]):
        lp = p + f'layers.{li}.'
        h = ln(h + mha(h, h, lp + 'self_attn', T['heads'][0], mk), lp + 'self_attn_layer_norm')
        h = ln(h + lin(F.gelu(lin(h, lp + 'fc1')), lp + 'fc2'), lp + 'final_layer_norm')
    return h


def decoder(qe, m, enc, em):
    p = lm + 'model.decoder.'
    q = qe.shape[1]
    h = ln(qe + R[p + 'embed_positions.weight'][2:2 + q], p + 'layernorm_embedding')
    causal = torch.triu(torch.full((q, q), torch.finfo(torch.float64).min, dtype=torch.float64), 1)
    sm = causal[None, None] if m is None else torch.maximum(causal[None, None] + key_mask(m, q), causal.new_tensor(torch.finfo(torch.float64).min))
    emk = key_mask(em, q)
    for li in range(T['layers'][1]):
        lp = p + f'layers.{li}.'
        h = ln(h + mha(h, h, lp + 'self_attn', T['heads'][1], sm), lp + 'self_attn_layer_norm')
        h = ln(h + mha(h, enc, lp + 'encoder_attn', T['heads'][1], emk), lp + 'encoder_attn_layer_norm')
        h = ln(h + lin(F.gelu(lin(h, lp + 'fc1')), lp + 'fc2'), lp + 'final_layer_norm')
    return h


# ---- cases ----
B, L, Q = 2, 5, 6
tower_px = torch.rand(B, 3, 41, 29, generator=gen) * 2 - 1   # maps 14x10, 7x5, 4x3: windows padded
px = torch.rand(B, 3, 37, 37, generator=gen) * 2 - 1         # 13x13, 7x7, 4x4 (square for image_features)
ids = torch.randint(0, T['vocab'], (B, L), generator=gen)
queries = torch.randn(B, Q, d, generator=gen)
qmask = torch.ones(B, Q, dtype=torch.int64)
qmask[1, 4:] = 0                                             # padded queries: keys 4, 5 hidden from row 1
grad_out = torch.randn(B, Q, d, generator=gen)

C, cases = {}, []


def add_case(name, call, inputs, outputs, doc):
    for k, v in inputs.items():
        C.setdefault(v[0], v[1])
    ins = {k: v[0] for k, v in inputs.items()}
    outs = {}
    for k, v in outputs.items():
        C[f'{name}.out.{k}'] = v.float() if v.dtype == torch.float64 else v
        outs[k] = f'{name}.out.{k}'
    cases.append({'name': name, 'call': call, 'inputs': ins, 'outputs': outs, 'tol': {'rel': 1e-4}, 'doc': doc})


with torch.no_grad():
    add_case('vision_tower', 'florence2.vision_tower', {'pixel_values': ('tower.in.pixel_values', tower_px)},
             {'features': tower(tower_px.double())[0]}, 'non-square 41x29 image, windows padded')
    feats = image_features(px.double())
    add_case('image_features', 'florence2.image_features', {'pixel_values': ('image.in.pixel_values', px)},
             {'image_features': feats}, 'all positions then the spatial mean')
    f32 = feats.float()
    C['merge.in.image_features'] = f32
    emb = torch.cat([f32.double(), R[lm + 'model.shared.weight'][ids]], 1)
    add_case('merge', 'florence2.merge', {'image_features': ('merge.in.image_features', f32),
                                          'input_ids': ('merge.in.input_ids', ids)},
             {'inputs_embeds': emb, 'attention_mask': torch.ones(B, emb.shape[1])}, 'image tokens then prompt')
    emb32 = emb.float()
    emask = torch.ones(B, emb.shape[1], dtype=torch.int64)
    emask[0, -3:] = 0
    enc = encoder(emb32.double(), emask)
    add_case('encoder_masked', 'florence2.encoder', {'inputs_embeds': ('encoder.in.inputs_embeds', emb32),
                                                      'attention_mask': ('encoder.in.attention_mask', emask)},
             {'last_hidden_state': enc}, 'last 3 keys of item 0 masked')
    enc32 = enc.float()
    add_case('query_decoder_masked', 'florence2.query_decoder',
             {'queries': ('query_decoder.in.queries', queries), 'attention_mask': ('query_decoder.in.attention_mask', qmask),
              'encoder_hidden_states': ('query_decoder.in.encoder_hidden_states', enc32),
              'encoder_attention_mask': ('query_decoder.in.encoder_attention_mask', emask)},
             {'last_hidden_state': decoder(queries.double(), qmask, enc32.double(), emask)},
             'causal + padded queries, cross-attention masked')
    add_case('query_decoder_no_masks', 'florence2.query_decoder',
             {'queries': ('query_decoder.in.queries', queries),
              'encoder_hidden_states': ('query_decoder.in.encoder_hidden_states', enc32)},
             {'last_hidden_state': decoder(queries.double(), None, enc32.double(), None)}, 'no masks given')

p64 = px.double().requires_grad_(True)
q64 = queries.double().requires_grad_(True)
feats = image_features(p64)
emb = torch.cat([feats, R[lm + 'model.shared.weight'][ids]], 1)
ones = torch.ones(B, emb.shape[1])
out = decoder(q64, torch.ones(B, Q), encoder(emb, ones), ones)
(out * grad_out.double()).sum().backward()
add_case('query_decoder_backward', 'florence2.query_decoder_backward',
         {'pixel_values': ('image.in.pixel_values', px), 'input_ids': ('merge.in.input_ids', ids),
          'queries': ('query_decoder.in.queries', queries), 'attention_mask': ('backward.in.attention_mask', torch.ones(B, Q, dtype=torch.int64)),
          'grad_output': ('backward.in.grad_output', grad_out)},
         {'last_hidden_state': out.detach(), 'grad_queries': q64.grad, 'grad_pixel_values': p64.grad},
         'the whole chain; gradients w.r.t. queries and pixels')

config = {
    'model_type': 'florence2', 'architectures': ['Florence2ForConditionalGeneration'], 'vocab_size': T['vocab'],
    'projection_dim': V['projection_dim'], 'ignore_index': -100, 'pad_token_id': 1, 'bos_token_id': 0,
    'eos_token_id': 2, 'is_encoder_decoder': True, 'tie_word_embeddings': False, 'torch_dtype': 'float32',
    'vision_config': {
        'model_type': 'davit', 'depths': V['depths'], 'dim_embed': dims, 'num_heads': V['num_heads'],
        'num_groups': V['num_groups'], 'patch_size': V['patch_size'], 'patch_stride': V['patch_stride'],
        'patch_padding': V['patch_padding'], 'patch_prenorm': V['patch_prenorm'], 'window_size': V['window_size'],
        'projection_dim': V['projection_dim'], 'drop_path_rate': 0.1, 'enable_checkpoint': False,
        'image_feature_source': V['sources'],
        'image_pos_embed': {'type': 'learned_abs_2d', 'max_pos_embeddings': V['max_pos']},
        'visual_temporal_embedding': {'type': 'COSINE', 'max_temporal_embeddings': V['max_t']}},
    'text_config': {
        'model_type': 'florence2_language', 'd_model': d, 'encoder_attention_heads': T['heads'][0],
        'decoder_attention_heads': T['heads'][1], 'encoder_ffn_dim': T['ffn'][0], 'decoder_ffn_dim': T['ffn'][1],
        'encoder_layers': T['layers'][0], 'decoder_layers': T['layers'][1], 'num_hidden_layers': T['layers'][0],
        'vocab_size': T['vocab'], 'max_position_embeddings': T['positions'], 'activation_function': 'gelu',
        'scale_embedding': False, 'dropout': 0.1, 'attention_dropout': 0.1, 'activation_dropout': 0.1,
        'tie_word_embeddings': False, 'pad_token_id': 1, 'bos_token_id': 0, 'eos_token_id': 2,
        'decoder_start_token_id': 2, 'use_cache': True},
}

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'config.json'), 'w') as f:
    json.dump(config, f, indent=2)
write_safetensors(os.path.join(OUT, 'model.safetensors'), W, {'format': 'pt'})
write_safetensors(os.path.join(OUT, 'cases.safetensors'), C, {'format': 'pt'})
with open(os.path.join(OUT, 'cases.json'), 'w') as f:
    json.dump({'component': 'florence2', 'reference': 'scripts/models/gen_florence2_alt.py (float64 reference)',
               'cases': cases}, f, indent=1)
print('wrote', OUT, sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT)), 'bytes')

"""Peer for bench/florence2.bench.ts: Florence-2's vision tower + image features + merge +
BART encoder forward in PyTorch CPU float32 (2 threads, no_grad), a compact re-implementation
of modeling_florence2.py's eval forward (as scripts/models/gen_florence2_alt.py's reference)
on the bench's folder: config.json + model.safetensors (read here without the safetensors
package).
argv[1]: {"folder": str, "reps": int, "image": int, "prompt": [ids]}. Prints {"ms": median}."""
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
req = json.loads(sys.argv[1])
cfg = json.load(open(os.path.join(req['folder'], 'config.json')))
V, T = cfg['vision_config'], cfg['text_config']


def load(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        assert e['dtype'] == 'F32', e['dtype']
        a, b = e['data_offsets']
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(e['shape'])
    return out


R = load(os.path.join(req['folder'], 'model.safetensors'))


def ln(x, p):
    return F.layer_norm(x, x.shape[-1:], R[p + '.weight'], R[p + '.bias'], 1e-5)


def lin(x, p):
    return F.linear(x, R[p + '.weight'], R[p + '.bias'])


def dwconv(x, p, h, w):
    b, n, c = x.shape
    y = F.conv2d(x.transpose(1, 2).reshape(b, c, h, w), R[p + '.weight'], R[p + '.bias'], padding=1, groups=c)
    return x + y.flatten(2).transpose(1, 2)


def mlp(x, p):
    return x + lin(F.gelu(lin(ln(x, p + 'ffn.norm'), p + 'ffn.fn.net.fc1')), p + 'ffn.fn.net.fc2')


def window_attn(x, p, h, w, heads, ws):
    b, n, c = x.shape
    x = F.pad(x.view(b, h, w, c), (0, 0, 0, (ws - w % ws) % ws, 0, (ws - h % ws) % ws))
    hp, wp = x.shape[1:3]
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
    return lin((a @ v.transpose(-1, -2)).transpose(-1, -2).transpose(1, 2).reshape(b, n, c), p + '.proj')


def image_features(px):
    x, (h, w) = px, px.shape[2:]
    for i, _ in enumerate(V['dim_embed']):
        cp = f'vision_tower.convs.{i}.'
        if x.dim() == 3:
            if V['patch_prenorm'][i]:
                x = ln(x, cp + 'norm')
            x = x.transpose(1, 2).reshape(x.shape[0], -1, h, w)
        x = F.conv2d(x, R[cp + 'proj.weight'], R[cp + 'proj.bias'], stride=V['patch_stride'][i], padding=V['patch_padding'][i])
        h, w = x.shape[2:]
        x = x.flatten(2).transpose(1, 2)
        if not V['patch_prenorm'][i]:
            x = ln(x, cp + 'norm')
        for j in range(V['depths'][i]):
            p = f'vision_tower.blocks.{i}.{j}.spatial_block.'
            x = dwconv(x, p + 'conv1.fn.dw', h, w)
            x = x + window_attn(ln(x, p + 'window_attn.norm'), p + 'window_attn.fn', h, w, V['num_heads'][i], V['window_size'])
            x = mlp(dwconv(x, p + 'conv2.fn.dw', h, w), p)
            p = f'vision_tower.blocks.{i}.{j}.channel_block.'
            x = dwconv(x, p + 'conv1.fn.dw', h, w)
            x = x + channel_attn(ln(x, p + 'channel_attn.norm'), p + 'channel_attn.fn', V['num_groups'][i])
            x = mlp(dwconv(x, p + 'conv2.fn.dw', h, w), p)
    b, D = x.shape[0], x.shape[-1]
    col = R['image_pos_embed.column_embeddings.weight'][:w]
    row = R['image_pos_embed.row_embeddings.weight'][:h]
    pos = torch.cat([col.unsqueeze(0).repeat(h, 1, 1), row.unsqueeze(1).repeat(1, w, 1)], -1)
    x = (x.view(b, h, w, D) + pos).view(b, h * w, D) + R['visual_temporal_embed.pos_idx_to_embed'][0]
    x = torch.cat([x.mean(1, keepdim=True), x], 1) @ R['image_projection']
    return ln(x, 'image_proj_norm')


def encoder(e):
    p, d, heads = 'language_model.model.encoder.', T['d_model'], T['encoder_attention_heads']
    h = ln(e + R[p + 'embed_positions.weight'][2:2 + e.shape[1]], p + 'layernorm_embedding')
    b, n, _ = h.shape
    for li in range(T['encoder_layers']):
        lp = p + f'layers.{li}.self_attn.'
        q = lin(h, lp + 'q_proj').view(b, n, heads, -1).transpose(1, 2) * (d // heads) ** -0.5
        k = lin(h, lp + 'k_proj').view(b, n, heads, -1).transpose(1, 2)
        v = lin(h, lp + 'v_proj').view(b, n, heads, -1).transpose(1, 2)
        a = lin(((q @ k.transpose(-1, -2)).softmax(-1) @ v).transpose(1, 2).reshape(b, n, d), lp + 'out_proj')
        h = ln(h + a, p + f'layers.{li}.self_attn_layer_norm')
        lp = p + f'layers.{li}.'
        h = ln(h + lin(F.gelu(lin(h, lp + 'fc1')), lp + 'fc2'), lp + 'final_layer_norm')
    return h


px = torch.randn(1, 3, req['image'], req['image'])
ids = torch.tensor([req['prompt']])


def forward():
    feats = image_features(px)
    return encoder(torch.cat([feats, F.embedding(ids, R['language_model.model.shared.weight'])], 1))


with torch.no_grad():
    forward()
    ts = []
    for _ in range(req['reps']):
        t0 = time.perf_counter()
        forward()
        ts.append((time.perf_counter() - t0) * 1e3)
ts.sort()
print(json.dumps({'ms': ts[len(ts) // 2]}))

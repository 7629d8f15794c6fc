"""Tiny UNet2DConditionModel folders (golden format, see ../../../shared/golden/README.md) in
configurations the shared golden does not cover, with outputs from an independent float64
reference written here from diffusers' published architecture (diffusers is not installed).

Run: /usr/bin/python3 scripts/models/gen_unet_variants.py  ->  test/fixtures/models/unet-<variant>/
Each folder: config.json (every field diffusers 0.33.1 writes), diffusion_pytorch_model.safetensors
(F32), cases.json, cases.safetensors. The reference reads the f32 weights and inputs in float64.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures'))
from common import write_safetensors  # noqa: E402

DT = torch.float64  # the reference's precision (float32 only to probe conditioning)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'models')

DEFAULTS = {
    "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.33.1", "act_fn": "silu",
    "addition_embed_type": None, "addition_embed_type_num_heads": 64, "addition_time_embed_dim": None,
    "attention_head_dim": 8, "attention_type": "default", "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False, "class_embed_type": None, "class_embeddings_concat": False,
    "conv_in_kernel": 3, "conv_out_kernel": 3, "cross_attention_dim": 1280, "cross_attention_norm": None,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1, "dropout": 0.0, "dual_cross_attention": False, "encoder_hid_dim": None,
    "encoder_hid_dim_type": None, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4,
    "layers_per_block": 2, "mid_block_only_cross_attention": None, "mid_block_scale_factor": 1,
    "mid_block_type": "UNetMidBlock2DCrossAttn", "norm_eps": 1e-05, "norm_num_groups": 32,
    "num_attention_heads": None, "num_class_embeds": None, "only_cross_attention": False, "out_channels": 4,
    "projection_class_embeddings_input_dim": None, "resnet_out_scale_factor": 1.0,
    "resnet_skip_time_act": False, "resnet_time_scale_shift": "default",
    "reverse_transformer_layers_per_block": None, "sample_size": 64, "time_cond_proj_dim": None,
    "time_embedding_act_fn": None, "time_embedding_dim": None, "time_embedding_type": "positional",
    "timestep_post_act": None, "transformer_layers_per_block": 1,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "upcast_attention": False, "use_linear_projection": False,
}

VARIANTS = {
    # SD 1.x style: 1x1 conv projections, int heads, per-block layer lists, a transformer depth
    # list (the mid block takes the last), downsample_padding 0 (pad bottom/right), centred
    # input, sin-first embedding with freq_shift 1, odd latent sizes (see LATENT).
    "conv-proj": dict(
        block_out_channels=[4, 8, 8], norm_num_groups=2, attention_head_dim=2, cross_attention_dim=12,
        layers_per_block=[2, 1, 1], transformer_layers_per_block=[1, 1, 2], use_linear_projection=False,
        down_block_types=["CrossAttnDownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"],
        up_block_types=["CrossAttnUpBlock2D", "UpBlock2D", "CrossAttnUpBlock2D"],
        downsample_padding=0, center_input_sample=True, flip_sin_to_cos=False, freq_shift=1,
        in_channels=3, out_channels=5, sample_size=8, mid_block_scale_factor=0.5, norm_eps=1e-6),
    # SD 2.x style with extras: linear projections, per-block heads (diffusers reads them as head
    # counts), cross_attention_dim per block, only_cross_attention, time_embedding_dim and a
    # post activation, 1x1 conv_in, odd latent sizes with downsample_padding 1.
    "linear-proj": dict(
        block_out_channels=[4, 6, 8], norm_num_groups=2, attention_head_dim=[1, 3, 2],
        cross_attention_dim=[10, 10, 10], layers_per_block=1, use_linear_projection=True,
        only_cross_attention=True, upcast_attention=True, time_embedding_dim=12, timestep_post_act="silu",
        conv_in_kernel=1, conv_out_kernel=3,
        down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], sample_size=8),
}

# Latent sizes of the main cases, neither a multiple of 4 (conv-proj: 10->5->2 with padding 0,
# up 2->5 and 5->10; linear-proj: 9->5->3, up 3->5 and 5->9). Big enough that the deepest
# GroupNorms see tens of values: with 1x2 maps the backward is ill-conditioned (torch's own
# float32 run differs from float64 by 1e-5).
LATENT = {'conv-proj': (10, 14), 'linear-proj': (9, 11)}


def listify(v, n):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


class Params:
    """Creates f32 weights by name (the checkpoint) and serves them as float64 to the reference."""

    def __init__(self, gen):
        self.gen, self.f32 = gen, {}

    def get(self, name, shape, kind):
        if name not in self.f32:
            g = self.gen
            if kind == 'norm_w':
                t = 1 + 0.1 * torch.randn(shape, generator=g)
            elif kind == 'bias':
                t = 0.1 * torch.randn(shape, generator=g)
            else:
                fan_in = math.prod(shape[1:])
                t = torch.randn(shape, generator=g) / math.sqrt(fan_in)
            self.f32[name] = t.float()
        return self.f32[name].to(DT)


def linear(P, name, x, fin, fout, bias=True):
    y = x @ P.get(name + '.weight', (fout, fin), 'w').T
    return y + P.get(name + '.bias', (fout,), 'bias') if bias else y


def conv(P, name, x, cin, cout, k, stride=1, padding=0):
    return F.conv2d(x, P.get(name + '.weight', (cout, cin, k, k), 'w'), P.get(name + '.bias', (cout,), 'bias'),
                    stride=stride, padding=padding)


def group_norm(P, name, x, groups, eps):
    c = x.shape[1]
    return F.group_norm(x, groups, P.get(name + '.weight', (c,), 'norm_w'), P.get(name + '.bias', (c,), 'bias'), eps)


def layer_norm(P, name, x):
    c = x.shape[-1]
    return F.layer_norm(x, (c,), P.get(name + '.weight', (c,), 'norm_w'), P.get(name + '.bias', (c,), 'bias'), 1e-5)


def timestep_embedding(t, dim, flip, shift):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=DT) / (half - shift))
    a = t.to(DT)[:, None] * freqs[None]
    e = torch.cat([torch.sin(a), torch.cos(a)], -1)
    if flip:
        e = torch.cat([e[:, half:], e[:, :half]], -1)
    return F.pad(e, (0, 1)) if dim % 2 else e


def resnet(P, name, x, temb, cin, cout, tdim, groups, eps, scale=1.0):
    h = conv(P, name + '.conv1', F.silu(group_norm(P, name + '.norm1', x, groups, eps)), cin, cout, 3, padding=1)
    h = h + linear(P, name + '.time_emb_proj', F.silu(temb), tdim, cout)[:, :, None, None]
    h = conv(P, name + '.conv2', F.silu(group_norm(P, name + '.norm2', h, groups, eps)), cout, cout, 3, padding=1)
    sc = conv(P, name + '.conv_shortcut', x, cin, cout, 1) if cin != cout else x
    return (sc + h) / scale


def attention(P, name, x, ctx, qdim, cdim, heads, head_dim, mask):
    inner = heads * head_dim
    q = linear(P, name + '.to_q', x, qdim, inner, bias=False)
    k = linear(P, name + '.to_k', ctx, cdim, inner, bias=False)
    v = linear(P, name + '.to_v', ctx, cdim, inner, bias=False)
    split = lambda t: t.reshape(t.shape[0], t.shape[1], heads, head_dim).transpose(1, 2)  # noqa: E731
    s = split(q) @ split(k).transpose(-1, -2) / math.sqrt(head_dim)
    if mask is not None:
        s = s + mask
    o = (torch.softmax(s, -1) @ split(v)).transpose(1, 2).reshape(x.shape[0], x.shape[1], inner)
    return linear(P, name + '.to_out.0', o, inner, qdim)


def transformer(P, name, x, ctx, heads, depth, cdim, groups, use_linear, only_cross, mask):
    b, c, hh, ww = x.shape
    head_dim = c // heads
    inner = heads * head_dim
    h = group_norm(P, name + '.norm', x, groups, 1e-6)
    if use_linear:
        h = linear(P, name + '.proj_in', h.permute(0, 2, 3, 1).reshape(b, hh * ww, c), c, inner)
    else:
        h = conv(P, name + '.proj_in', h, c, inner, 1).permute(0, 2, 3, 1).reshape(b, hh * ww, inner)
    for i in range(depth):
        n = f'{name}.transformer_blocks.{i}'
        y = layer_norm(P, n + '.norm1', h)
        if only_cross:
            h = h + attention(P, n + '.attn1', y, ctx, inner, cdim, heads, head_dim, None)
        else:
            h = h + attention(P, n + '.attn1', y, y, inner, inner, heads, head_dim, None)
        h = h + attention(P, n + '.attn2', layer_norm(P, n + '.norm2', h), ctx, inner, cdim, heads, head_dim, mask)
        hid, gate = linear(P, n + '.ff.net.0.proj', layer_norm(P, n + '.norm3', h), inner, 8 * inner).chunk(2, -1)
        h = h + linear(P, n + '.ff.net.2', hid * F.gelu(gate), 4 * inner, inner)
    if use_linear:
        h = linear(P, name + '.proj_out', h, inner, c).reshape(b, hh, ww, c).permute(0, 3, 1, 2)
    else:
        h = conv(P, name + '.proj_out', h.reshape(b, hh, ww, inner).permute(0, 3, 1, 2), inner, c, 1)
    return h + x


def unet(P, cfg, sample, timestep, ctx, mask=None):
    n = len(cfg['down_block_types'])
    ch = cfg['block_out_channels']
    heads = listify(cfg['attention_head_dim'], n)
    cross = listify(cfg['cross_attention_dim'], n)
    lpb = listify(cfg['layers_per_block'], n)
    tl = listify(cfg['transformer_layers_per_block'], n)
    g, eps = cfg['norm_num_groups'], cfg['norm_eps']
    lin, oc = cfg['use_linear_projection'], cfg['only_cross_attention']
    tdim = cfg['time_embedding_dim'] or 4 * ch[0]
    bias = None if mask is None else ((1 - mask.to(DT)) * -10000.0)[:, None, None, :]

    b = sample.shape[0]
    x = sample.to(DT)
    if cfg['center_input_sample']:
        x = 2 * x - 1
    t = timestep.reshape(-1).expand(b)
    temb = timestep_embedding(t, ch[0], cfg['flip_sin_to_cos'], cfg['freq_shift'])
    temb = linear(P, 'time_embedding.linear_2', F.silu(linear(P, 'time_embedding.linear_1', temb, ch[0], tdim)),
                  tdim, tdim)
    if cfg['timestep_post_act']:
        temb = F.silu(temb)
    kin, kout = cfg['conv_in_kernel'], cfg['conv_out_kernel']
    h = conv(P, 'conv_in', x, cfg['in_channels'], ch[0], kin, padding=(kin - 1) // 2)
    skips = [h]
    for i, kind in enumerate(cfg['down_block_types']):
        cin = ch[max(i - 1, 0)]
        for j in range(lpb[i]):
            h = resnet(P, f'down_blocks.{i}.resnets.{j}', h, temb, cin if j == 0 else ch[i], ch[i], tdim, g, eps)
            if kind == 'CrossAttnDownBlock2D':
                h = transformer(P, f'down_blocks.{i}.attentions.{j}', h, ctx, heads[i], tl[i], cross[i], g, lin, oc, bias)
            skips.append(h)
        if i < n - 1:
            pad = cfg['downsample_padding']
            if pad == 0:
                h = F.pad(h, (0, 1, 0, 1))
            h = conv(P, f'down_blocks.{i}.downsamplers.0.conv', h, ch[i], ch[i], 3, stride=2, padding=pad)
            skips.append(h)
    ms = cfg['mid_block_scale_factor']
    h = resnet(P, 'mid_block.resnets.0', h, temb, ch[-1], ch[-1], tdim, g, eps, ms)
    h = transformer(P, 'mid_block.attentions.0', h, ctx, heads[-1], tl[-1], cross[-1], g, lin, False, bias)
    h = resnet(P, 'mid_block.resnets.1', h, temb, ch[-1], ch[-1], tdim, g, eps, ms)
    forward_size = any(d % 2 ** (n - 1) for d in sample.shape[-2:])
    for i, kind in enumerate(cfg['up_block_types']):
        r = n - 1 - i
        prev, cin = ch[min(r + 1, n - 1)], ch[max(r - 1, 0)]
        layers = lpb[r] + 1
        for j in range(layers):
            skip = skips.pop()
            res_in = (prev if j == 0 else ch[r]) + (cin if j == layers - 1 else ch[r])
            h = resnet(P, f'up_blocks.{i}.resnets.{j}', torch.cat([h, skip], 1), temb, res_in, ch[r], tdim, g, eps)
            if kind == 'CrossAttnUpBlock2D':
                h = transformer(P, f'up_blocks.{i}.attentions.{j}', h, ctx, heads[r], tl[r], cross[r], g, lin, oc, bias)
        if i < n - 1:
            h = F.interpolate(h, size=skips[-1].shape[2:] if forward_size else None,
                              scale_factor=None if forward_size else 2.0, mode='nearest')
            h = conv(P, f'up_blocks.{i}.upsamplers.0.conv', h, ch[r], ch[r], 3, padding=1)
    h = F.silu(group_norm(P, 'conv_norm_out', h, g, eps))
    return conv(P, 'conv_out', h, ch[0], cfg['out_channels'], kout, padding=(kout - 1) // 2)


def make(variant, overrides, seed):
    cfg = dict(DEFAULTS, **overrides)
    gen = torch.Generator().manual_seed(seed)
    P = Params(gen)
    cdim = listify(cfg['cross_attention_dim'], 1)[0]
    cin = cfg['in_channels']
    hh, ww = LATENT[variant]
    x = torch.randn(2, cin, hh, ww, generator=gen)
    ctx = torch.randn(2, 9, cdim, generator=gen)
    ts = torch.tensor([981, 17], dtype=torch.int64)
    mask = torch.tensor([[1] * 9, [1] * 6 + [0] * 3], dtype=torch.int64)
    x8 = torch.randn(1, cin, 8, 8, generator=gen)
    t_one = torch.tensor([333.25], dtype=torch.float32)
    G = torch.randn(2, cfg['out_channels'], hh, ww, generator=gen)

    tensors, cases = {}, []
    unet(P, cfg, x, ts, ctx.double())  # creates every weight in a fixed order

    def add(name, call, inputs, outputs, doc):
        ins = {}
        for k, v in inputs.items():
            tensors[f'{name}.in.{k}'] = v
            ins[k] = f'{name}.in.{k}'
        outs = {}
        for k, v in outputs.items():
            tensors[f'{name}.out.{k}'] = v.float()
            outs[k] = f'{name}.out.{k}'
        cases.append({'name': name, 'call': call, 'inputs': ins, 'outputs': outs, 'doc': doc, 'tol': {'rel': 1e-4}})

    add('forward', 'unet.forward', {'sample': x, 'timestep': ts, 'encoder_hidden_states': ctx},
        {'sample': unet(P, cfg, x, ts, ctx.double())}, f'batch 2, {hh}x{ww} latents, int64 timesteps')
    add('forward_one_timestep', 'unet.forward', {'sample': x8, 'timestep': t_one, 'encoder_hidden_states': ctx[:1]},
        {'sample': unet(P, cfg, x8, t_one, ctx[:1].double())}, '8x8, one fractional f32 timestep [1]')
    if variant == 'linear-proj':
        add('forward_masked', 'unet.forward',
            {'sample': x, 'timestep': ts, 'encoder_hidden_states': ctx, 'encoder_attention_mask': mask},
            {'sample': unet(P, cfg, x, ts, ctx.double(), mask)},
            'encoder_attention_mask (row 1 drops its last 3 tokens): bias (1 - m) * -10000 on cross-attention')
    xg, cg = x.double().requires_grad_(), ctx.double().requires_grad_()
    (unet(P, cfg, xg, ts, cg) * G.double()).sum().backward()
    tensors['backward.in.grad_output'] = G
    cases.append({'name': 'backward', 'call': 'unet.backward',
                  'inputs': {'sample': 'forward.in.sample', 'timestep': 'forward.in.timestep',
                             'encoder_hidden_states': 'forward.in.encoder_hidden_states',
                             'grad_output': 'backward.in.grad_output'},
                  'outputs': {'grad_encoder_hidden_states': 'backward.out.grad_encoder_hidden_states',
                              'grad_sample': 'backward.out.grad_sample'},
                  'doc': 'gradients of sum(out * G) w.r.t. encoder_hidden_states and sample', 'tol': {'rel': 1e-4}})
    tensors['backward.out.grad_encoder_hidden_states'] = cg.grad.float()
    tensors['backward.out.grad_sample'] = xg.grad.float()

    folder = os.path.join(OUT, f'unet-{variant}')
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write('\n')
    write_safetensors(os.path.join(folder, 'diffusion_pytorch_model.safetensors'), P.f32, {'format': 'pt'})
    spec = {'component': 'unet2d_condition',
            'reference': 'float64 reimplementation in scripts/models/gen_unet_variants.py (diffusers 0.33.1 semantics)',
            'cases': cases,
            'tensors': {k: {'shape': list(v.shape), 'dtype': 'I64' if v.dtype == torch.int64 else 'F32'}
                        for k, v in sorted(tensors.items())}}
    with open(os.path.join(folder, 'cases.json'), 'w') as f:
        json.dump(spec, f, indent=1)
        f.write('\n')
    write_safetensors(os.path.join(folder, 'cases.safetensors'), tensors, {'format': 'pt'})
    print(folder, sum(os.path.getsize(os.path.join(folder, p)) for p in os.listdir(folder)), 'bytes')


if __name__ == '__main__':
    for i, (name, over) in enumerate(VARIANTS.items()):
        make(name, over, 1234 + i)

"""Small AutoencoderKL folders for test/conformance/vae.test.ts, in the golden format
(../shared/golden/README.md): config.json, diffusion_pytorch_model.safetensors under
diffusers' parameter names, cases.json + cases.safetensors. The expected outputs come from
the float64 reference below, written from diffusers 0.33.1's AutoencoderKL (Encoder,
Decoder, DownEncoderBlock2D, UpDecoderBlock2D, UNetMidBlock2D, ResnetBlock2D, Attention,
Downsample2D with its (0,1,0,1) pad, DiagonalGaussianDistribution), not from vlv.
Configs differ from the golden one: three blocks, odd image sizes, batch 2, pre-0.14
attention names, no quant_conv / no post_quant_conv, no mid attention, clamped logvars.
Usage: /usr/bin/python3 scripts/models/gen_vae.py"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures'))
from common import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'models', 'vae')
EPS = 1e-6


# ---- parameter names and shapes, as diffusers names them ----

def resnet_params(p, name, cin, cout):
    p[name + '.norm1'] = ('norm', cin)
    p[name + '.conv1'] = ('conv', cout, cin, 3)
    p[name + '.norm2'] = ('norm', cout)
    p[name + '.conv2'] = ('conv', cout, cout, 3)
    if cin != cout:
        p[name + '.conv_shortcut'] = ('conv', cout, cin, 1)


def attn_names(legacy):
    return ('query', 'key', 'value', 'proj_attn') if legacy else ('to_q', 'to_k', 'to_v', 'to_out.0')


def mid_params(p, name, c, attention, legacy):
    resnet_params(p, name + '.resnets.0', c, c)
    if attention:
        p[name + '.attentions.0.group_norm'] = ('norm', c)
        for n in attn_names(legacy):
            p[name + '.attentions.0.' + n] = ('linear', c, c)
    resnet_params(p, name + '.resnets.1', c, c)


def param_layout(cfg, legacy):
    ch, L, lat = cfg['block_out_channels'], cfg['layers_per_block'], cfg['latent_channels']
    p = {}
    p['encoder.conv_in'] = ('conv', ch[0], cfg['in_channels'], 3)
    for i, c in enumerate(ch):
        cin = ch[0] if i == 0 else ch[i - 1]
        for j in range(L):
            resnet_params(p, f'encoder.down_blocks.{i}.resnets.{j}', cin if j == 0 else c, c)
        if i + 1 < len(ch):
            p[f'encoder.down_blocks.{i}.downsamplers.0.conv'] = ('conv', c, c, 3)
    mid_params(p, 'encoder.mid_block', ch[-1], cfg['mid_block_add_attention'], legacy)
    p['encoder.conv_norm_out'] = ('norm', ch[-1])
    p['encoder.conv_out'] = ('conv', 2 * lat, ch[-1], 3)
    rev = ch[::-1]
    p['decoder.conv_in'] = ('conv', rev[0], lat, 3)
    mid_params(p, 'decoder.mid_block', rev[0], cfg['mid_block_add_attention'], legacy)
    for i, c in enumerate(rev):
        cin = rev[0] if i == 0 else rev[i - 1]
        for j in range(L + 1):
            resnet_params(p, f'decoder.up_blocks.{i}.resnets.{j}', cin if j == 0 else c, c)
        if i + 1 < len(rev):
            p[f'decoder.up_blocks.{i}.upsamplers.0.conv'] = ('conv', c, c, 3)
    p['decoder.conv_norm_out'] = ('norm', ch[0])
    p['decoder.conv_out'] = ('conv', cfg['out_channels'], ch[0], 3)
    if cfg['use_quant_conv']:
        p['quant_conv'] = ('conv', 2 * lat, 2 * lat, 1)
    if cfg['use_post_quant_conv']:
        p['post_quant_conv'] = ('conv', lat, lat, 1)
    return p


def make_weights(layout, gen):
    w = {}
    for name, spec in layout.items():
        kind = spec[0]
        if kind == 'norm':
            w[name + '.weight'] = 1 + 0.1 * torch.randn(spec[1], generator=gen)
            w[name + '.bias'] = 0.1 * torch.randn(spec[1], generator=gen)
        elif kind == 'conv':
            _, o, i, k = spec
            w[name + '.weight'] = torch.randn(o, i, k, k, generator=gen) / math.sqrt(i * k * k)
            w[name + '.bias'] = 0.1 * torch.randn(o, generator=gen)
        else:
            _, o, i = spec
            w[name + '.weight'] = torch.randn(o, i, generator=gen) / math.sqrt(i)
            w[name + '.bias'] = 0.1 * torch.randn(o, generator=gen)
    return w


# ---- the float64 reference ----

class Ref:
    def __init__(self, cfg, w, legacy):
        self.cfg, self.w, self.legacy, self.g = cfg, w, legacy, cfg['norm_num_groups']

    def conv(self, x, n, stride=1, pad=0):
        return F.conv2d(x, self.w[n + '.weight'], self.w[n + '.bias'], stride, pad)

    def norm(self, x, n, silu):
        y = F.group_norm(x, self.g, self.w[n + '.weight'], self.w[n + '.bias'], EPS)
        return F.silu(y) if silu else y

    def resnet(self, x, n):
        h = self.conv(self.norm(x, n + '.norm1', True), n + '.conv1', 1, 1)
        h = self.conv(self.norm(h, n + '.norm2', True), n + '.conv2', 1, 1)
        sc = self.conv(x, n + '.conv_shortcut') if n + '.conv_shortcut.weight' in self.w else x
        return sc + h

    def attention(self, x, n):
        b, c, hh, ww = x.shape
        t = self.norm(x, n + '.group_norm', False).reshape(b, c, hh * ww).transpose(1, 2)
        q, k, v, o = (n + '.' + s for s in attn_names(self.legacy))
        lin = lambda z, m: F.linear(z, self.w[m + '.weight'], self.w[m + '.bias'])  # noqa: E731
        s = lin(t, q) @ lin(t, k).transpose(1, 2) / math.sqrt(c)  # one head of c channels
        y = lin(torch.softmax(s, -1) @ lin(t, v), o)
        return y.transpose(1, 2).reshape(b, c, hh, ww) + x

    def mid(self, x, n):
        x = self.resnet(x, n + '.resnets.0')
        if self.cfg['mid_block_add_attention']:
            x = self.attention(x, n + '.attentions.0')
        return self.resnet(x, n + '.resnets.1')

    def encode(self, x):
        ch, L = self.cfg['block_out_channels'], self.cfg['layers_per_block']
        h = self.conv(x, 'encoder.conv_in', 1, 1)
        for i in range(len(ch)):
            for j in range(L):
                h = self.resnet(h, f'encoder.down_blocks.{i}.resnets.{j}')
            if i + 1 < len(ch):
                h = self.conv(F.pad(h, (0, 1, 0, 1)), f'encoder.down_blocks.{i}.downsamplers.0.conv', 2, 0)
        h = self.mid(h, 'encoder.mid_block')
        h = self.conv(self.norm(h, 'encoder.conv_norm_out', True), 'encoder.conv_out', 1, 1)
        if self.cfg['use_quant_conv']:
            h = self.conv(h, 'quant_conv')
        mean, logvar = h.chunk(2, dim=1)
        return mean, logvar.clamp(-30, 20)

    def decode(self, z):
        ch, L = self.cfg['block_out_channels'], self.cfg['layers_per_block']
        if self.cfg['use_post_quant_conv']:
            z = self.conv(z, 'post_quant_conv')
        h = self.mid(self.conv(z, 'decoder.conv_in', 1, 1), 'decoder.mid_block')
        for i in range(len(ch)):
            for j in range(L + 1):
                h = self.resnet(h, f'decoder.up_blocks.{i}.resnets.{j}')
            if i + 1 < len(ch):
                h = self.conv(F.interpolate(h, scale_factor=2.0, mode='nearest'),
                              f'decoder.up_blocks.{i}.upsamplers.0.conv', 1, 1)
        return self.conv(self.norm(h, 'decoder.conv_norm_out', True), 'decoder.conv_out', 1, 1)


def latent_hw(h, w, blocks):
    for _ in range(blocks - 1):
        h, w = (h + 1 - 3) // 2 + 1, (w + 1 - 3) // 2 + 1
    return h, w


def build(name, cfg, legacy, image, latent_hw_dec, seed, logvar_shift, doc):
    gen = torch.Generator().manual_seed(seed)
    w = make_weights(param_layout(cfg, legacy), gen)
    # Push one logvar channel towards a clamp bound so the clamp is exercised.
    bias = 'quant_conv.bias' if cfg['use_quant_conv'] else 'encoder.conv_out.bias'
    channel, shift = logvar_shift
    w[bias][cfg['latent_channels'] + channel] += shift
    full = {
        '_class_name': 'AutoencoderKL', '_diffusers_version': '0.33.1', 'act_fn': 'silu',
        'down_block_types': ['DownEncoderBlock2D'] * len(cfg['block_out_channels']),
        'up_block_types': ['UpDecoderBlock2D'] * len(cfg['block_out_channels']),
        'force_upcast': True, 'latents_mean': None, 'latents_std': None, 'shift_factor': None,
        'scaling_factor': 0.13025, **cfg}
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump(full, f, indent=2, sort_keys=True)
    write_safetensors(os.path.join(folder, 'diffusion_pytorch_model.safetensors'), w, {'format': 'pt'})

    ref = Ref(cfg, {k: v.double() for k, v in w.items()}, legacy)
    n, lat = image[0], cfg['latent_channels']
    x = torch.rand(*image, generator=gen) * 2 - 1
    lh, lw = latent_hw(image[2], image[3], len(cfg['block_out_channels']))
    noise = torch.randn(n, lat, lh, lw, generator=gen)
    z = torch.randn(n, lat, *latent_hw_dec, generator=gen)
    g_dec = torch.randn(n, cfg['out_channels'], 2 ** (len(cfg['block_out_channels']) - 1) * latent_hw_dec[0],
                        2 ** (len(cfg['block_out_channels']) - 1) * latent_hw_dec[1], generator=gen)
    g_enc = torch.randn(n, lat, lh, lw, generator=gen)

    x64 = x.double().requires_grad_(True)
    mean, logvar = ref.encode(x64)
    sample = mean + torch.exp(0.5 * logvar) * noise.double()
    (grad_x,) = torch.autograd.grad((sample * g_enc.double()).sum(), x64)
    z64 = z.double().requires_grad_(True)
    dec = ref.decode(z64)
    (grad_z,) = torch.autograd.grad((dec * g_dec.double()).sum(), z64)
    clamped = int(((logvar == 20) | (logvar == -30)).sum())
    assert 0 < clamped < logvar.numel(), f'{name}: {clamped} clamped logvars: pick another shift'

    t = {'encode.in.sample': x, 'encode.in.noise': noise, 'encode.out.mean': mean, 'encode.out.logvar': logvar,
         'encode.out.latent_sample': sample, 'decode.in.latent': z, 'decode.out.sample': dec,
         'encode_backward.in.grad_output': g_enc, 'encode_backward.out.grad_sample': grad_x,
         'decode_backward.in.grad_output': g_dec, 'decode_backward.out.grad_latent': grad_z}
    t = {k: v.detach().float() for k, v in t.items()}
    tol = {'rel': 1e-4}
    cases = [
        {'name': 'encode', 'call': 'vae.encode', 'inputs': {'sample': 'encode.in.sample'},
         'outputs': {'mean': 'encode.out.mean', 'logvar': 'encode.out.logvar'}, 'tol': tol},
        {'name': 'encode_sample', 'call': 'vae.encode',
         'inputs': {'sample': 'encode.in.sample', 'noise': 'encode.in.noise'},
         'outputs': {'latent_sample': 'encode.out.latent_sample'}, 'tol': tol},
        {'name': 'decode', 'call': 'vae.decode', 'inputs': {'latent': 'decode.in.latent'},
         'outputs': {'sample': 'decode.out.sample'}, 'tol': tol},
        {'name': 'encode_backward', 'call': 'vae.encode_backward',
         'inputs': {'sample': 'encode.in.sample', 'noise': 'encode.in.noise',
                    'grad_output': 'encode_backward.in.grad_output'},
         'outputs': {'grad_sample': 'encode_backward.out.grad_sample'}, 'tol': tol,
         'doc': 'gradient of sum(latent_sample * grad_output) w.r.t. sample, through the clamp and exp'},
        {'name': 'decode_backward', 'call': 'vae.decode_backward',
         'inputs': {'latent': 'decode.in.latent', 'grad_output': 'decode_backward.in.grad_output'},
         'outputs': {'grad_latent': 'decode_backward.out.grad_latent'}, 'tol': tol,
         'doc': 'gradient of sum(sample * grad_output) w.r.t. latent'},
    ]
    spec = {'component': 'autoencoder_kl', 'reference': 'float64 reference of scripts/models/gen_vae.py', 'doc': doc,
            'cases': cases,
            'tensors': {k: {'shape': list(v.shape), 'dtype': 'F32'} for k, v in sorted(t.items())}}
    with open(os.path.join(folder, 'cases.json'), 'w') as f:
        json.dump(spec, f, indent=1)
    write_safetensors(os.path.join(folder, 'cases.safetensors'), t, {'format': 'pt'})
    print(name, f'{sum(v.numel() for v in w.values())} parameters, {clamped} clamped logvars')


if __name__ == '__main__':  # importable: bench/peers/torch_vlv.py decodes with Ref
    build('three_blocks', dict(in_channels=3, out_channels=2, latent_channels=3, block_out_channels=[4, 8, 8],
                               layers_per_block=1, norm_num_groups=2, mid_block_add_attention=True, sample_size=24,
                               use_quant_conv=False, use_post_quant_conv=True),
          legacy=True, image=(2, 3, 13, 10), latent_hw_dec=(5, 3), seed=1, logvar_shift=(1, 20.0),
          doc='3 blocks, odd sizes, batch 2, pre-0.14 attention names, no quant_conv, logvar clamped at 20')
    build('no_mid_attention', dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=[8, 8],
                                   layers_per_block=2, norm_num_groups=4, mid_block_add_attention=False, sample_size=16,
                                   use_quant_conv=True, use_post_quant_conv=False),
          legacy=False, image=(1, 3, 9, 8), latent_hw_dec=(4, 5), seed=2, logvar_shift=(0, -30.0),
          doc='no mid-block attention, equal channels (no shortcuts), no post_quant_conv, logvar clamped at -30')

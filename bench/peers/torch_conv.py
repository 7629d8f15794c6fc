"""Peer for bench/conv.bench.ts: PyTorch CPU conv2d and group_norm+SiLU, 2 threads.
argv[1]: {"reps": int, "cases": [{"op": "conv2d", "x": [N,C,H,W], "w": [Co,Ci,kh,kw],
          "stride": s, "padding": p} | {"op": "group_norm_silu", "x": [...], "groups": G}]}
Prints {"ms": [median ms per case]}."""
import json
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
req = json.loads(sys.argv[1])
reps = req.get('reps', 5)


def median_ms(fn):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    return ts[len(ts) // 2]


out = []
with torch.no_grad():
    for c in req['cases']:
        x = torch.randn(*c['x'])
        if c['op'] == 'conv2d':
            w = torch.randn(*c['w'])
            b = torch.randn(c['w'][0])
            out.append(median_ms(lambda: F.conv2d(x, w, b, stride=c['stride'], padding=c['padding'])))
        else:
            ch = c['x'][1]
            w, b = torch.randn(ch), torch.randn(ch)
            out.append(median_ms(lambda: F.silu(F.group_norm(x, c['groups'], w, b, 1e-6))))
print(json.dumps({'ms': out}))

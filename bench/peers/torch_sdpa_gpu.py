"""PyTorch CUDA peer for bench/attention-gpu.bench.ts. Request (argv[1], JSON): {"cases":
[{"B", "H", "Lq", "Lk", "D", "dtype": "bf16"|"f32", "reps"}]}. Prints {"fwd": [median ms],
"fwd_bwd": [median ms], "torch", "device"}: F.scaled_dot_product_attention forward timed with
CUDA events, forward+backward by wall clock around the calls and a synchronize (as ours)."""
import json
import sys
import time

import torch
import torch.nn.functional as F

req = json.loads(sys.argv[1])
dt = {'bf16': torch.bfloat16, 'f32': torch.float32}
fwd, fwd_bwd = [], []
for c in req['cases']:
    d = dt[c['dtype']]
    q = torch.randn(c['B'], c['H'], c['Lq'], c['D'], device='cuda', dtype=d)
    k = torch.randn(c['B'], c['H'], c['Lk'], c['D'], device='cuda', dtype=d)
    v = torch.randn(c['B'], c['H'], c['Lk'], c['D'], device='cuda', dtype=d)
    g = torch.randn_like(q)
    F.scaled_dot_product_attention(q, k, v)
    torch.cuda.synchronize()
    times = []
    for _ in range(c['reps']):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        F.scaled_dot_product_attention(q, k, v)
        e1.record()
        e1.synchronize()
        times.append(e0.elapsed_time(e1))
    fwd.append(sorted(times)[len(times) // 2])
    times = []
    for r in range(c['reps'] + 1):
        qq, kk, vv = (x.detach().requires_grad_() for x in (q, k, v))
        t0 = time.perf_counter()
        F.scaled_dot_product_attention(qq, kk, vv).backward(g)
        torch.cuda.synchronize()
        if r > 0:
            times.append((time.perf_counter() - t0) * 1e3)
    fwd_bwd.append(sorted(times)[len(times) // 2])
print(json.dumps({'fwd': fwd, 'fwd_bwd': fwd_bwd, 'torch': torch.__version__, 'device': torch.cuda.get_device_name()}))

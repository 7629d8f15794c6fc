"""PyTorch CUDA peer for bench/conv-gpu.bench.ts. Request (argv[1], JSON): {"cases": [{"N",
"Cin", "H", "Cout", "k", "stride", "groups", "fused", "reps"}]}. Prints {"ms": [median ms per
case], "torch", "device"}: F.conv2d (cuDNN, benchmark mode on) in bf16 with bias, padding
(k-1)/2, after F.silu(F.group_norm(x, 32, w, b)) when "fused", timed with CUDA events after a
warm-up."""
import json
import sys

import torch
import torch.nn.functional as F

req = json.loads(sys.argv[1])
torch.backends.cudnn.benchmark = True
ms = []
for c in req['cases']:
    d = torch.bfloat16
    x = torch.randn(c['N'], c['Cin'], c['H'], c['H'], device='cuda', dtype=d)
    w = torch.randn(c['Cout'], c['Cin'] // c['groups'], c['k'], c['k'], device='cuda', dtype=d)
    b = torch.randn(c['Cout'], device='cuda', dtype=d)
    gw = torch.randn(c['Cin'], device='cuda', dtype=d)
    gb = torch.randn(c['Cin'], device='cuda', dtype=d)
    def run():
        h = F.silu(F.group_norm(x, 32, gw, gb, eps=1e-5)) if c.get('fused') else x
        return F.conv2d(h, w, b, stride=c['stride'], padding=(c['k'] - 1) // 2, groups=c['groups'])
    for _ in range(3):
        run()
    torch.cuda.synchronize()
    times = []
    for _ in range(c['reps']):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        run()
        e1.record()
        e1.synchronize()
        times.append(e0.elapsed_time(e1))
    ms.append(sorted(times)[len(times) // 2])
print(json.dumps({'ms': ms, 'torch': torch.__version__, 'device': torch.cuda.get_device_name()}))

"""PyTorch CUDA peer for bench/gemm-gpu.bench.ts. Request (argv[1], JSON): {"shapes":
[{"M", "K", "N", "dtype": "bf16"|"f16"|"f32", "trans_b", "reps"}]}. Prints {"ms": [median
ms per shape], "tflops": [...], "torch": version, "device": name} for torch.matmul on the
same card, timed with CUDA events after a warm-up, rotating 3 input sets so repeated runs do
not measure the L2 cache. f32 runs with TF32 off (the exact-f32 comparison)."""
import json
import sys

import torch

req = json.loads(sys.argv[1])
torch.backends.cuda.matmul.allow_tf32 = False
dt = {'bf16': torch.bfloat16, 'f16': torch.float16, 'f32': torch.float32}
ms, tf = [], []
for s in req['shapes']:
    M, K, N, tb, reps = s['M'], s['K'], s['N'], s['trans_b'], s['reps']
    sets = [(torch.randn(M, K, device='cuda', dtype=dt[s['dtype']]),
             torch.randn(N, K, device='cuda', dtype=dt[s['dtype']]) if tb else
             torch.randn(K, N, device='cuda', dtype=dt[s['dtype']])) for _ in range(3)]
    def run(i):
        a, b = sets[i % 3]
        return torch.matmul(a, b.t() if tb else b)
    for i in range(3):
        run(i)
    torch.cuda.synchronize()
    times = []
    for r in range(reps):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        run(r)
        e1.record()
        e1.synchronize()
        times.append(e0.elapsed_time(e1))
    times.sort()
    t = times[len(times) // 2]
    ms.append(t)
    tf.append(2.0 * M * N * K / (t * 1e-3) / 1e12)
print(json.dumps({'ms': ms, 'tflops': tf, 'torch': torch.__version__, 'device': torch.cuda.get_device_name()}))

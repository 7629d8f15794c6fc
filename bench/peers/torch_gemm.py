"""PyTorch peer for bench/gemm.bench.ts. Request (argv[1], JSON): {"threads": n, "shapes":
[{"M", "K", "N", "trans_b", "reps"}]}. Prints {"gflops": [median GFLOP/s per shape]} for
torch.matmul(a[M,K], op(b)) in f32 (op(b) = b[N,K].t() when trans_b, as linear)."""
import json
import sys
import time

import torch

req = json.loads(sys.argv[1])
torch.set_num_threads(int(req['threads']))
out = []
for s in req['shapes']:
    M, K, N, tb, reps = s['M'], s['K'], s['N'], s['trans_b'], s['reps']
    a = torch.randn(M, K)
    b = torch.randn(N, K) if tb else torch.randn(K, N)
    times = []
    with torch.no_grad():
        for r in range(reps + 1):
            t0 = time.perf_counter()
            torch.matmul(a, b.t() if tb else b)
            if r > 0:
                times.append(time.perf_counter() - t0)
    times.sort()
    out.append(2.0 * M * N * K / times[len(times) // 2] / 1e9)
print(json.dumps({'gflops': out, 'torch': torch.__version__}))

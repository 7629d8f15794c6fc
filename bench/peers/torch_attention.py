"""PyTorch 1.13 CPU peer for bench/attention.bench.ts: matmul -> softmax -> matmul (the
explicit attention torch 1.13 runs; it has no fused CPU SDPA), forward and autograd backward.
argv[1]: {"shapes": [[B, H, Lq, Lk, D], ...], "reps": n, "threads": t}
prints one JSON line: [{"fwd_ms": median, "bwd_ms": median}, ...] in the order of shapes."""
import json
import statistics
import sys
import time

import torch

req = json.loads(sys.argv[1])
torch.set_num_threads(int(req.get('threads', 2)))
reps = int(req.get('reps', 5))


def attention(q, k, v, scale):
    p = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * scale, dim=-1)
    return torch.matmul(p, v)


def median_ms(fn):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


results = []
for b, h, lq, lk, d in req['shapes']:
    q = torch.randn(b, h, lq, d)
    k = torch.randn(b, h, lk, d)
    v = torch.randn(b, h, lk, d)
    scale = d ** -0.5
    with torch.no_grad():
        fwd = median_ms(lambda: attention(q, k, v, scale))
    qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))
    go = torch.randn(b, h, lq, d)
    state = {}

    def forward_only():
        state['out'] = attention(qg, kg, vg, scale)

    def backward_only():
        forward_only()
        t0 = time.perf_counter()
        state['out'].backward(go)
        state['t'] = (time.perf_counter() - t0) * 1e3

    # Backward time alone: the forward of each rep is run but not counted.
    times = []
    backward_only()
    for _ in range(reps):
        backward_only()
        times.append(state['t'])
    results.append({'fwd_ms': fwd, 'bwd_ms': statistics.median(times)})
print(json.dumps(results))

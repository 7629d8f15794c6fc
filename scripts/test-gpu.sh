#!/usr/bin/env bash
# npm run test:gpu: every op on CUDA against the CPU path, with poisoned allocations, once
# with the GEMM backend found at run time (cuBLAS when present) and once with the own
# mma.sync kernels (VLV_GEMM=own) for the GEMM ops (conv2d included), and once more for the
# convolutions with VLV_CONV=im2col (bf16 / f16 would otherwise take only the implicit GEMM).
# Needs a built addon + libvlv_cuda.so.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/Release/libvlv_cuda.so ] || npx cmake-js build --out build --CDVLV_CUDA=ON
export VLV_DEVICE=cuda VLV_CUDA_POISON=1
npx ava --config test-gpu/ava.config.mjs "$@"
VLV_GEMM=own npx ava --config test-gpu/ava.config.mjs test-gpu/ops.test.ts -m '*matmul*' -m '*linear*' -m '*gemm*' -m '*conv2d*'
VLV_CONV=im2col npx ava --config test-gpu/ava.config.mjs test-gpu/ops.test.ts -m '*conv2d*'

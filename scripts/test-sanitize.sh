#!/usr/bin/env bash
# ASan + UBSan build of the addon (build-asan/), then the op fixtures, tensor, autograd,
# safetensors, PyTorch-checkpoint (hostile files included), scheduler, call-context,
# guided-sampling and VLV tests against it. Node itself is not instrumented, so the ASan runtime is
# preloaded and leak checking is off (V8 keeps allocations alive until exit by design).
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js build --out build-asan --CDVLV_CUDA=OFF --CDVLV_SANITIZE=address,undefined --CDCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
asan=$(g++ -print-file-name=libasan.so)
ubsan=$(g++ -print-file-name=libubsan.so)
export VLV_ADDON="$PWD/build-asan/Release/vlv.node"
export LD_PRELOAD="$asan:$ubsan"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
files=(test/ops/ops-fixtures.test.ts test/infra/tensor.test.ts test/infra/autograd.test.ts test/infra/safetensors.test.ts
  test/infra/torch-checkpoint.test.ts test/ops/scheduler.test.ts test/infra/call-context.test.ts
  test/models/diffusion-sample.test.ts test/conformance/vlv.test.ts)
npx ava "${files[@]}" "$@"

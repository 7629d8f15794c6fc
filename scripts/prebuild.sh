#!/usr/bin/env bash
# Builds the release addon and CUDA library (portable flags: runtime SIMD dispatch, no
# -march=native) and copies them, stripped, into prebuilds/<platform>-<arch>/ where
# node-gyp-build and lib/native.ts find them in an installed package.
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js build --out build "--CDVLV_CUDA=${VLV_CUDA:-AUTO}"
dest="prebuilds/$(node -p 'process.platform + "-" + process.arch')"
mkdir -p "$dest"
cp build/Release/vlv.node "$dest/vlv.napi.node"
strip --strip-unneeded "$dest/vlv.napi.node"
if [ -f build/Release/libvlv_cuda.so ]; then
  cp build/Release/libvlv_cuda.so "$dest/libvlv_cuda.so"
  strip --strip-unneeded "$dest/libvlv_cuda.so"
fi
ls -l "$dest"

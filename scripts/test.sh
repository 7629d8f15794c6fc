#!/usr/bin/env bash
# npm test: typecheck, lint (ESLint + Prettier: npm run lint), the whole ava suite, then the
# op fixtures again on the scalar kernels with one thread (so the SIMD and threaded paths are
# both checked against the same references). Ends with one plain line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
status=0
log=$(mktemp)

count() {  # adds the tests ava marked passed (✔) and failed (✘) in $log
  local p f
  p=$(grep -cE '^\s*✔' "$log" || true)
  f=$(grep -cE '^\s*✘' "$log" || true)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
}

echo "== typecheck (tsc --noEmit)"
if npx tsc --noEmit -p tsconfig.json; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi

echo "== lint (npm run lint: eslint + prettier --check)"
if npm run --silent lint; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi

echo "== ava (all tests)"
npx ava "$@" 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
count

if [ $# -eq 0 ]; then
  echo "== ava (op fixtures on the scalar kernels, 1 thread)"
  VLV_SIMD=scalar VLV_NUM_THREADS=1 npx ava test/ops/ops-fixtures.test.ts 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  count
fi

rm -f "$log"
echo "${passed} passed, ${failed} failed"
exit $status

#!/usr/bin/env bash
# Benchmarks: each prints its figures as ratios against a reference run in the same process, and
# the run ends with one table of every figure with its goal (bench/summary.ts).
#   npm run bench                 every bench/*.bench.ts
#   npm run bench -- download iso only these
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
npx tsc -p tsconfig.json
node dist/test/fixtures/prepare.js
results=$(mktemp "${TMPDIR:-/tmp}/if-bench-results.XXXXXX")
trap 'rm -f "$results"' EXIT
if [ $# -gt 0 ]; then benches=("$@"); else
  benches=(); for f in dist/bench/*.bench.js; do b=${f#dist/bench/}; benches+=("${b%.bench.js}"); done
fi
failed=()
for b in "${benches[@]}"; do
  echo "== $b"
  BENCH_RESULTS="$results" node "dist/bench/$b.bench.js" || { echo "== $b FAILED (exit $?)" >&2; failed+=("$b"); }
done
node dist/bench/summary.js "$results" "${failed[@]}"
[ ${#failed[@]} -eq 0 ]

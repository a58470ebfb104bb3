#!/usr/bin/env bash
# Benchmarks: each prints its figures as ratios against a reference run in the same process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
npx tsc -p tsconfig.json
for f in dist/bench/*.bench.js; do
  echo "== ${f#dist/bench/}"
  node "$f"
done

#!/usr/bin/env bash
# The whole test suite: set-up, type-check + build (tests included), lint, then every test file.
#   npm test                 everything
#   npm test -- --only unit  one layer (unit, contract, integration, boot, fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

only=""
if [ "${1:-}" = "--only" ]; then only="${2:?--only needs a layer name}"; fi

bash scripts/setup.sh --test

echo "== build (tsc, strict, tests included)"
rm -rf dist
npx tsc -p tsconfig.json

echo "== lint"
npx eslint --max-warnings=0 .
npx prettier --check . >/dev/null || { npx prettier --check . ; exit 1; }

echo "== tests"
shopt -s globstar nullglob
if [ -n "$only" ]; then files=(dist/test/"$only"/**/*.test.js); else files=(dist/test/**/*.test.js); fi
[ ${#files[@]} -gt 0 ] || { echo "no test files found" >&2; exit 1; }
# Two files at a time: boot tests are CPU-bound under TCG on this 2-core machine.
mkdir -p .cache
status=0
node --test --test-concurrency=2 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=.cache/last-test.tap \
  "${files[@]}" || status=$?
pass=$(grep -E '^# pass ' .cache/last-test.tap | awk '{print $3}')
fail=$(grep -E '^# fail ' .cache/last-test.tap | awk '{print $3}')
skip=$(grep -E '^# skipped ' .cache/last-test.tap | awk '{print $3}')
echo "tests: ${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
exit $status

#!/usr/bin/env bash
# The whole test suite: set-up, type-check + build (tests included), lint, then every test file.
#   npm test                 everything
#   npm test -- --only unit  one layer (unit, contract, integration, boot, fuzz, reliability)
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

# Global set-up, once, before the test processes start in parallel: Debian downloads (and the arm64
# architecture for apt), the fixture releases. Concurrent runs share the cache safely (locks).
echo "== test fixtures"
node dist/test/fixtures/prepare.js

echo "== tests"
shopt -s globstar nullglob
if [ "$only" = "reliability" ]; then all=()
elif [ -n "$only" ]; then all=(dist/test/"$only"/**/*.test.js); else all=(dist/test/**/*.test.js); fi
[ ${#all[@]} -gt 0 ] || [ "$only" = "reliability" ] || { echo "no test files found" >&2; exit 1; }
# `*.serial.test.js` files measure latency (event-loop delay under hostile input): they run after
# the others, alone, so the suite's own parallel load is not what they measure.
files=(); serial=()
for f in "${all[@]}"; do if [[ "$f" == *.serial.test.js ]]; then serial+=("$f"); else files+=("$f"); fi; done
# Two files at a time: boot tests are CPU-bound under TCG on this 2-core machine.
mkdir -p .cache
# A private temp dir: whatever a test leaves behind is found (and reported) instead of piling up in /tmp.
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/if-test-run.XXXXXX")
status=0
if [ ${#files[@]} -gt 0 ]; then
  TMPDIR="$run_tmp" node --test --test-concurrency=2 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination=.cache/last-test.tap \
    "${files[@]}" || status=$?
fi
if [ ${#serial[@]} -gt 0 ]; then
  TMPDIR="$run_tmp" node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination=.cache/last-test-serial.tap \
    "${serial[@]}" || status=$?
fi
# The reliability report's short form (kill -9, upstream faults, full disk, a 1-minute soak, two
# replicas; ~5 min on 2 cores) after the test files, alone: a broken promise fails the suite.
if [ -z "$only" ] || [ "$only" = "reliability" ]; then
  echo "== reliability (quick)"
  reliability=ok
  TMPDIR="$run_tmp" node dist/reliability/main.js --quick --minutes 1 || { status=$?; reliability=FAILED; }
fi
leftovers=$(find "$run_tmp" -mindepth 1 -maxdepth 1 | wc -l)
if [ "$leftovers" -gt 0 ]; then
  echo "tests left $leftovers entries in their temp dir:" >&2
  find "$run_tmp" -mindepth 1 -maxdepth 1 -printf '  %f\n' | head -20 >&2
  status=1
fi
rm -rf "$run_tmp"
taps=()
[ ${#files[@]} -gt 0 ] && taps+=(.cache/last-test.tap)
[ ${#serial[@]} -gt 0 ] && taps+=(.cache/last-test-serial.tap)
count() {
  [ ${#taps[@]} -gt 0 ] || { echo 0; return; }
  cat "${taps[@]}" 2>/dev/null | grep -E "^# $1 " | awk '{s += $3} END {print s + 0}'
}
pass=$(count pass)
fail=$(count fail)
skip=$(count skipped)
echo "tests: ${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
[ -n "${reliability:-}" ] && echo "reliability (quick): $reliability"
exit $status

#!/usr/bin/env bash
# The reliability report: kill -9, upstream faults, full disk, a mixed soak, two replicas.
#   npm run reliability                          everything, a 10-minute soak
#   npm run reliability -- --quick --minutes 1   the short form `npm test` runs
#   npm run reliability -- --only soak,replicas --minutes 5 --markdown --seed 42
# Exits non-zero when a promise is broken (see reliability/main.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
npx tsc -p tsconfig.json
# The fixture releases (Debian downloads, both sets), as `npm test` prepares them.
node dist/test/fixtures/prepare.js
node dist/reliability/main.js "$@"

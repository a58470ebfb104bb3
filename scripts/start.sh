#!/usr/bin/env bash
# Runs the factory on the embedded default: filesystem storage under ./data, no internet needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --runtime
npx tsc -p tsconfig.json
exec node dist/src/cli/main.js serve "$@"

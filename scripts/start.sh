#!/usr/bin/env bash
# Runs the factory on the embedded default: filesystem storage under ./data and, unless a release
# source is configured, a locally built demo release (small bootable Talos-like fixture releases
# built from Debian packages, once, then cached) — no internet beyond the Debian/npm mirrors.
#   npm start                       demo release, http://127.0.0.1:8080
#   npm start -- --listen 0.0.0.0:8080 --external-url http://host:8080/
#   IMAGE_FACTORY_CONFIG=prod.yaml npm start     your own release source (no demo build)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --runtime
npx tsc -p tsconfig.json

configured=false
[ -n "${IMAGE_FACTORY_CONFIG:-}" ] && configured=true
[ -n "${IMAGE_FACTORY__artifacts__source:-}" ] && configured=true
for a in "$@"; do [ "$a" = "--config" ] || [[ "$a" == --config=* ]] && configured=true; done

if [ "$configured" = false ]; then
  demo="${IMAGE_FACTORY_DATA_DIR:-./data}/demo-release"
  if [ ! -f "$demo/fixture-manifest.json" ]; then
    echo "start: building the demo release into $demo (first run only; a few minutes)"
    node dist/test/fixtures/build-cli.js --out "$demo" --arches amd64 --quiet >/dev/null
  fi
  export IMAGE_FACTORY__artifacts__source=oci-layout
  export IMAGE_FACTORY__artifacts__layoutDir="$demo"
fi
exec node dist/src/cli/main.js serve "$@"

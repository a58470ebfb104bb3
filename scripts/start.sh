#!/usr/bin/env bash
# Runs the factory on the embedded default: filesystem storage under ./data (or --data-dir) and,
# unless a release source is configured, the demo release (`image-factory demo`: small bootable
# Talos-like releases for amd64 and arm64 built from Debian packages, once, then cached) — no
# internet beyond the Debian/npm mirrors.
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
  # The demo release (amd64 and arm64) in <data-dir>/demo-release: built on the first run (Debian
  # downloads, about a minute), kept afterwards. Same flags as serve, so --data-dir is honoured.
  demo=$(node dist/src/cli/main.js demo "$@")
  export IMAGE_FACTORY__artifacts__source=oci-layout
  export IMAGE_FACTORY__artifacts__layoutDir="$demo"
  # GRUB's arm64-efi modules, fetched by the demo beside the release (<data-dir>/demo-grub).
  export IMAGE_FACTORY__build__grubDirs__arm64Efi="$(dirname "$demo")/demo-grub/arm64-efi"
fi
# V8 heap sizing is fixed when node starts (runtime.semiSpaceMiB; why: src/cli/node-flags.ts).
read -r -a node_flags <<< "$(node dist/src/cli/main.js node-flags "$@")"
exec node "${node_flags[@]}" dist/src/cli/main.js serve "$@"

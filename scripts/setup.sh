#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: Debian packages (apt-get, when root) and npm deps.
#   scripts/setup.sh --runtime   what `npm start` needs
#   scripts/setup.sh --test      what the test suite needs (a superset)
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:---runtime}"

# Tools the builders call (mksquashfs, cpio, xz, zstd, depmod, ISO/disk tools) and what the demo
# release build uses (apt-get download + dpkg-deb, which every Debian has).
runtime_pkgs=(squashfs-tools cpio xz-utils zstd kmod xorriso mtools dosfstools qemu-utils ca-certificates)
# Tests also start a real registry, boot QEMU (SeaBIOS, OVMF, iPXE ROMs), copy images with skopeo,
# benchmark against nginx with wrk, and compare the schematic parser with go-yaml (Go + yaml.v3 source).
test_pkgs=(docker-registry skopeo qemu-system-x86 qemu-system-arm ovmf ipxe-qemu busybox-static apache2-utils openssl nginx-light wrk
  golang-go golang-gopkg-yaml.v3-dev)

pkgs=("${runtime_pkgs[@]}")
[ "$mode" = "--test" ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root, or install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# npm dependencies: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

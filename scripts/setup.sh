#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: Debian packages (apt-get, when root) and npm deps.
#   scripts/setup.sh --runtime   what `npm start` needs
#   scripts/setup.sh --test      what the test suite needs (a superset)
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:---runtime}"

# Tools the builders call (mksquashfs, cpio, xz, zstd, depmod, ISO/disk tools: mkfs.xfs, GRUB
# images for BIOS and x86_64 EFI, pigz for .gz/.tar.gz) and what the demo release build uses
# (apt-get download + dpkg-deb, which every Debian has); ovmf carries Microsoft's Secure Boot
# certificates (read from its pre-enrolled variable store for includeWellKnownCertificates).
runtime_pkgs=(squashfs-tools cpio xz-utils zstd kmod xorriso mtools dosfstools qemu-utils ca-certificates
  xfsprogs grub-common grub-pc-bin grub-efi-amd64-bin pigz ovmf)
# Tests also start a real registry, boot QEMU (SeaBIOS, OVMF, AAVMF, iPXE ROMs), copy images with
# skopeo, and benchmark against nginx with wrk. Secure Boot tests verify signatures with sbverify
# (sbsigntool) and osslsigncode (>= 2.6 needed: bookworm's 2.5 rejects every PE signature here; the
# machine image carries 2.9 from backports), compare .auth files with efitools, read UKIs back with
# binutils objcopy and derive PCR vectors with python3; disk-image tests check tables with
# sgdisk/sfdisk/fdisk; the web wizard is driven in Debian's Chromium (playwright-core); the schematic
# parser is compared with go-yaml (Go + yaml.v3 source). The reliability report (`npm run
# reliability`, its short form in `npm test`) uses docker-registry and skopeo too, and mounts small
# tmpfs data dirs with util-linux `mount` (in every Debian; the full-disk section skips when not root).
test_pkgs=(docker-registry skopeo qemu-system-x86 qemu-system-arm qemu-efi-aarch64 ovmf ipxe-qemu busybox-static
  apache2-utils openssl nginx-light wrk sbsigntool osslsigncode efitools binutils python3 gdisk fdisk chromium
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

# osslsigncode < 2.6 (bookworm's 2.5) rejects every PE signature, ours and sbsign's alike: take
# bookworm-backports' build, through a source list given to apt for this call only (the machine's
# own sources stay as they are).
if [ "$mode" = "--test" ]; then
  ossl=$(osslsigncode --version 2>/dev/null | head -n1 | sed -n 's/^osslsigncode \([0-9][0-9.]*\).*/\1/p')
  if [ -z "$ossl" ] || ! printf '2.6\n%s\n' "$ossl" | sort -V -C; then
    if [ "$(id -u)" -eq 0 ] && grep -qs 'VERSION_CODENAME=bookworm' /etc/os-release; then
      echo "setup: osslsigncode ${ossl:-missing} is older than 2.6: installing it from bookworm-backports"
      bp=$(mktemp)
      echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$bp"
      apt-get -q -o Dir::Etc::sourcelist="$bp" -o APT::Get::List-Cleanup=0 update >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o Dir::Etc::sourcelist="$bp" -t bookworm-backports osslsigncode >/dev/null
      rm -f "$bp"
    else
      echo "setup: osslsigncode ${ossl:-missing} is older than 2.6 (Secure Boot tests need >= 2.6; Debian bookworm-backports has 2.9)" >&2
      exit 1
    fi
  fi
fi

# npm dependencies: reinstall only when the lock file changed since the last install. A symlinked
# node_modules (a worktree sharing another checkout's) is left alone: `npm ci` would empty the
# directory it points to, under the other checkout's feet.
if [ -L node_modules ]; then
  echo "setup: node_modules is a symlink ($(readlink node_modules)): not reinstalling"
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

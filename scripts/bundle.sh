#!/usr/bin/env bash
# Builds a signed RAUC update bundle (verity format) of the image's rootfs:
#
#   scripts/bundle.sh VERSION        (make bundle VERSION=...)
#
# -> dist/bundle/ringbox-<compatible>-<VERSION>.raucb. The rootfs is the one
# scripts/image.sh builds (ROOTFS_ONLY=1), made into the 64 MB ext4 slot
# image the bundle carries as [image.rootfs]. Signed with keys/signing.*.pem
# (a development CA and key made on first use by scripts/image/devkeys.sh;
# KEYS_DIR for others); the image trusts keys/ca.cert.pem.
# COMPATIBLE: ringbox-qemu-virt (default, the qemu image) or ringbox-pbx-a.
# BROKEN=1 makes a bundle whose ringbox exits at start, for the rollback
# test (scripts/image/update-test.sh). Installs rauc and squashfs-tools when
# missing and running as root. Refuses a bundle of 25 MB or more.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-dev}
compatible=${COMPATIBLE:-ringbox-qemu-virt}
out=${BUNDLE_OUT:-dist/bundle}
max=$((25 * 1000 * 1000))

need=()
command -v rauc >/dev/null || need+=(rauc)
command -v mksquashfs >/dev/null || need+=(squashfs-tools)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "bundle: need ${need[*]} (apt-get install them, as root)" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${need[@]}" >/dev/null
fi
keys=$(scripts/image/devkeys.sh)

name=$compatible-$version${BROKEN:+-broken}
work=$out/work-$name
rm -rf "$work"
IMAGE_OUT=$work ROOTFS_ONLY=1 COMPATIBLE=$compatible scripts/image.sh "$version"
r=$work/rootfs
if [ -n "${BROKEN:-}" ]; then
  printf '#!/bin/sh\necho "ringbox %s: broken on purpose (a test bundle made with BROKEN=1)" >&2\nexit 1\n' "$version" >"$r/usr/bin/ringbox"
  chmod 755 "$r/usr/bin/ringbox"
fi
mkdir -p "$work/content"
mkfs.ext4 -q -F -L rootfs -E root_owner=0:0 -d "$r" "$work/content/rootfs.ext4" 64M >/dev/null
cat >"$work/content/manifest.raucm" <<MANIFEST
[update]
compatible=$compatible
version=$version
build=$(date -u +%Y%m%dT%H%M%SZ)

[bundle]
format=verity

[image.rootfs]
filename=rootfs.ext4
MANIFEST
bundle=$out/$name.raucb
rm -f "$bundle"
rauc bundle --cert "$keys/signing.cert.pem" --key "$keys/signing.key.pem" --keyring "$keys/ca.cert.pem" \
  "$work/content" "$bundle" 2>&1 | grep -v -e '^rauc-Message' -e 'Creating bundle' || true
[ -f "$bundle" ] || { echo "bundle: rauc bundle failed" >&2; exit 1; }
rm -rf "$work"
size=$(stat -c %s "$bundle")
echo "bundle: $bundle $(awk -v b="$size" 'BEGIN{printf "%.1f MB", b/1e6}') ($compatible, version $version${BROKEN:+, broken on purpose})"
if [ "$size" -ge $max ]; then
  echo "bundle: $size bytes: over the 25 MB limit" >&2
  exit 1
fi

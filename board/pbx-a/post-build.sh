#!/usr/bin/env bash
# Buildroot post-build script (BR2_ROOTFS_POST_BUILD_SCRIPT): RAUC's
# system.conf and keyring in the target, from the same template the qemu
# image uses (board/pbx-a/rauc/system.conf; scripts/image.sh fills it for
# qemu), filled for the reference board: compatible ringbox-pbx-a, U-Boot's
# boot count. The keyring is the CA of RINGBOX_KEYS_DIR (a production
# build's own keys; default keys/ beside buildroot/, as
# scripts/image/devkeys.sh makes them). scripts/lint-buildroot.sh checks
# these paths against the image's.
set -euo pipefail
board=$(cd "$(dirname "$0")" && pwd)
target=${TARGET_DIR:-$1}
keys=${RINGBOX_KEYS_DIR:-$board/../../keys}
install -d "$target/etc/rauc"
sed -e "s/@COMPATIBLE@/ringbox-pbx-a/" -e "s/@BOOTLOADER@/uboot/" "$board/rauc/system.conf" >"$target/etc/rauc/system.conf"
if [ ! -f "$keys/ca.cert.pem" ]; then
  echo "post-build: no $keys/ca.cert.pem: set RINGBOX_KEYS_DIR to the directory of the CA that signs bundles" >&2
  exit 1
fi
install -m 0644 "$keys/ca.cert.pem" "$target/etc/rauc/keyring.pem"

#!/usr/bin/env bash
# Buildroot post-image script (BR2_ROOTFS_POST_IMAGE_SCRIPT): the
# initramfs and an empty data file system next to Buildroot's Image and
# rootfs.ext4, then the disk from genimage.cfg, as scripts/image.sh does for
# qemu. The pbx-a kernel has its disk, ext4 and network drivers built in, so
# the initramfs loads no modules. Not yet run on a Buildroot build.
set -euo pipefail
board=$(cd "$(dirname "$0")" && pwd)
images=${BINARIES_DIR:-$1}
"$board/mkinitramfs.sh" "$images/initrd.img" "$TARGET_DIR/bin/busybox" "$TARGET_DIR/lib" >/dev/null
"$HOST_DIR/sbin/mkfs.ext4" -q -F -L data "$images/data.ext4" 128M
exec support/scripts/genimage.sh -c "$board/genimage.cfg"

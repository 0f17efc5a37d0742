#!/usr/bin/env bash
# Builds the initramfs (board/pbx-a/initramfs/init and busybox) as a
# gzipped cpio, for scripts/image.sh (qemu image, Debian kernel) and
# post-image.sh (Buildroot):
#
#   mkinitramfs.sh OUT BUSYBOX [LIBDIR] [-m MODULES_DIR MODULE...]
#
# BUSYBOX is copied with the applets /init uses; a dynamically linked one
# needs LIBDIR, the target's /lib (its loader and libc are copied). Each
# MODULE (a kernel module name, found under MODULES_DIR with the modules it
# depends on, those first) is insmod'ed by /init in that order; a kernel with
# its disk, ext4 and network drivers built in needs none. Prints the module
# order.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1 bb=$2
shift 2
libdir=
if [ $# -gt 0 ] && [ "$1" != -m ]; then libdir=$1; shift; fi
mods=
if [ $# -gt 0 ]; then mods=$2; shift 2; fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,newroot,lib/modules}
declare -A seen=()
order=()
add() {
  local m=$1 f d
  [ -n "${seen[$m]:-}" ] && return
  seen[$m]=1
  f=$(find "$mods" -name "$m.ko" | head -1)
  [ -n "$f" ] || { echo "mkinitramfs: module $m not under $mods" >&2; exit 1; }
  d=$(strings "$f" | sed -n 's/^depends=//p' | head -1)
  for dep in ${d//,/ }; do add "${dep//-/_}"; done
  order+=("$m")
  cp "$f" "$root/lib/modules/$m.ko"
}
for m in "$@"; do add "$m"; done
[ ${#order[@]} -eq 0 ] || printf '%s\n' "${order[@]}" >"$root/lib/modules/load"
cp "$bb" "$root/bin/busybox"
for a in sh mount umount insmod switch_root cat grep sleep mkdir echo ls; do ln -s busybox "$root/bin/$a"; done
if [ -n "$libdir" ]; then
  cp -a "$libdir"/ld-linux*.so* "$libdir"/libc.so* "$libdir"/libm.so* "$libdir"/libresolv.so* "$root/lib/" 2>/dev/null || true
fi
install -m 0755 "$here/initramfs/init" "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible) | gzip -9n >"$out"
echo "${order[*]}"

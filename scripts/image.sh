#!/usr/bin/env bash
# Builds the qemu (arm64 virt) disk image from Debian's arm64 packages and
# ringbox cross-built without cgo: dist/image/ringbox.img (GPT: boot, rootA,
# rootB, data) plus the kernel and initrd for qemu's -kernel/-initrd.
# The layout (board/pbx-a/genimage.cfg), the initramfs /init and the rootfs
# overlay (board/pbx-a/overlay) are the ones buildroot uses. Downloads are
# cached under .cache/image/. Installs its tools when missing and running as
# root. See docs/firmware.md.
#
# For update bundles (scripts/bundle.sh): ROOTFS_ONLY=1 stops once the rootfs
# tree is ready in $IMAGE_OUT/rootfs (default dist/image). COMPATIBLE is the
# RAUC compatible string (ringbox-qemu-virt); the CA of KEYS_DIR (default
# keys/, made on first use by scripts/image/devkeys.sh) is the keyring.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-dev}
cache=.cache/image
out=${IMAGE_OUT:-dist/image}
compatible=${COMPATIBLE:-ringbox-qemu-virt}
keys=$(scripts/image/devkeys.sh)
board=board/pbx-a
# The rootfs image size: what the A/B slots must hold (the partitions are
# bigger, for growth).
rootfs_size=64M
data_size=128M

need=()
for t in genimage:genimage mkfs.ext4:e2fsprogs mkfs.vfat:dosfstools mcopy:mtools cpio:cpio; do
  command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
done
if ! dpkg --print-foreign-architectures | grep -qx arm64 || [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "image: need dpkg --add-architecture arm64 and apt-get install ${need[*]} (run as root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  dpkg --add-architecture arm64
  apt-get update -qq -o DPkg::Lock::Timeout=300
  [ ${#need[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${need[@]}" >/dev/null
fi

# Debian packages: the kernel linux-image-arm64 points at, busybox, CA certs.
mkdir -p "$cache/debs"
kpkg=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-/ {print $2; exit}')
kpkg=${kpkg%:arm64}
if [ -z "$kpkg" ]; then
  echo "image: no arm64 kernel package (apt-get update after dpkg --add-architecture arm64?)" >&2
  exit 1
fi
for p in "$kpkg:arm64" busybox-static:arm64 ca-certificates systemd-boot-efi:arm64; do
  n=${p%%:*}
  if ! ls "$cache/debs/${n}_"*.deb >/dev/null 2>&1; then
    echo "image: apt-get download $p"
    (cd "$cache/debs" && apt-get download -q "$p" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  fi
done
deb() { ls -t "$cache/debs/$1_"*.deb | head -1; }
x=$cache/x
rm -rf "$x" && mkdir -p "$x"/{kernel,busybox,ca,sdboot}
dpkg-deb -x "$(deb systemd-boot-efi)" "$x/sdboot"
dpkg-deb -x "$(deb "$kpkg")" "$x/kernel"
dpkg-deb -x "$(deb busybox-static)" "$x/busybox"
dpkg-deb -x "$(deb ca-certificates)" "$x/ca"
kver=$(ls "$x/kernel/lib/modules")
kmods=$x/kernel/lib/modules/$kver/kernel
bb=$x/busybox/bin/busybox
# busybox's applet names are one NUL-separated list in the binary, starting
# "[", "[[" (the arm64 binary cannot be asked with --list here).
mapfile -t applets < <(tr '\0' '\n' <"$bb" | awk 'on && $0 == "" {exit} on {print} !on && prev == "[" && $0 == "[[" {on = 1; print "["; print} {prev = $0}')
[ ${#applets[@]} -gt 100 ] || { echo "image: cannot read busybox's applet list" >&2; exit 1; }

rm -rf "$out" && mkdir -p "$out"/{rootfs,input,tmp}

# The initramfs, with the modules the kernel needs before it can mount the
# rootfs and reach the network (Debian builds virtio and ext4 as modules;
# crc32c for ext4's checksums; vfat and its code pages for the boot
# partition's boot state; i6300esb for qemu's watchdog, which ringbox feeds).
modules=$("$board/mkinitramfs.sh" "$out/input/initrd.img" "$bb" -m "$kmods" crc32c_generic ext4 virtio_pci virtio_blk virtio_net vfat nls_cp437 nls_ascii nls_utf8 i6300esb)

# The rootfs: busybox (every applet linked in /bin and /sbin), CA
# certificates, ringbox, then the board's overlay.
r=$out/rootfs
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc/ssl/certs,etc/rauc,dev,proc,sys,tmp,run,data,var,root,boot}
cp "$bb" "$r/bin/busybox"
for a in "${applets[@]}"; do
  [ "$a" = busybox ] && continue
  ln -s busybox "$r/bin/$a"
  ln -s ../bin/busybox "$r/sbin/$a"
done
ln -s ../../bin/busybox "$r/usr/bin/env"
find "$x/ca/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort | xargs cat >"$r/etc/ssl/certs/ca-certificates.crt"
ln -s ../tmp/resolv.conf "$r/etc/resolv.conf"
ln -s ../run "$r/var/run"
ln -s ../tmp "$r/var/tmp"
ln -s ../data/log "$r/var/log"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
printf 'root:x:0:\n' >"$r/etc/group"
echo "image: go build ringbox and sntp (linux/arm64, no cgo)"
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 nice go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$r/usr/bin/ringbox" ./firmware/cmd/ringbox
# Debian's busybox has no ntpd: the clock is set by sntp (S49ntp).
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 nice go build -trimpath -ldflags "-s -w" -o "$r/usr/bin/sntp" ./firmware/cmd/sntp
cp -a "$board/overlay/." "$r/"
# The qemu image has no line hardware: the simulated board.
mkdir -p "$r/etc/default"
echo 'BOARD=sim' >"$r/etc/default/ringbox"
echo "$version" >"$r/etc/ringbox-version"
# Updates: RAUC's system.conf (the updater reads compatible and the slots)
# and the keyring bundles must be signed by. /boot is where the initramfs
# leaves the boot partition mounted (the boot state).
sed -e "s/@COMPATIBLE@/$compatible/" -e "s/@BOOTLOADER@/custom/" "$board/rauc/system.conf" >"$r/etc/rauc/system.conf"
cp "$keys/ca.cert.pem" "$r/etc/rauc/keyring.pem"
if [ -n "${ROOTFS_ONLY:-}" ]; then
  echo "image: rootfs tree in $r (version $version, $compatible)"
  exit 0
fi

rootfs_used=$(du -s --apparent-size -B1 "$r" | cut -f1)
if [ "$rootfs_used" -ge $((${rootfs_size%M} * 1048576 * 9 / 10)) ]; then
  echo "image: the rootfs holds $rootfs_used bytes: too much for a $rootfs_size slot image" >&2
  exit 1
fi
mkfs.ext4 -q -F -L rootfs -E root_owner=0:0 -d "$r" "$out/input/rootfs.ext4" "$rootfs_size" >/dev/null
mkfs.ext4 -q -F -L data -E root_owner=0:0 "$out/input/data.ext4" "$data_size" >/dev/null
cp "$x/kernel/boot/vmlinuz-$kver" "$out/input/Image"
genimage --rootpath "$r" --tmppath "$out/tmp" --inputpath "$out/input" --outputpath "$out" --config "$board/genimage.cfg" >"$out/genimage.log" 2>&1 ||
  { cat "$out/genimage.log" >&2; exit 1; }
mv "$out/disk.img" "$out/ringbox.img"
# qemu only: systemd-boot on the boot partition (an EFI system partition
# for UEFI firmware), one entry per slot, so the disk also boots on its own
# with qemu's UEFI firmware (docs/firmware.md). The board boots with U-Boot.
start=$(partx -g -o START -n 1 "$out/ringbox.img" | tr -d ' ')
esp="$out/ringbox.img@@$((start * 512))"
mmd -i "$esp" ::EFI ::EFI/BOOT ::loader ::loader/entries
mcopy -i "$esp" "$x/sdboot/usr/lib/systemd/boot/efi/systemd-bootaa64.efi" ::EFI/BOOT/BOOTAA64.EFI
# The default entry lets the boot state pick the slot (the initramfs reads
# /bootstate on this partition); the per-slot entries force one.
printf 'default ringbox.conf\ntimeout 0\n' >"$out/loader.conf"
mcopy -i "$esp" "$out/loader.conf" ::loader/loader.conf
printf 'title Ringbox\nlinux /Image\ninitrd /initrd.img\noptions console=ttyAMA0 panic=5 quiet\n' >"$out/entry.conf"
mcopy -i "$esp" "$out/entry.conf" "::loader/entries/ringbox.conf"
# The boot state of a new disk: slot A, B empty (docs/firmware.md "Updates").
# 512 bytes, padded with newlines: the initramfs and the updater rewrite it
# in place.
printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\n' >"$out/bootstate"
truncate -s 512 "$out/bootstate" && sed -i 's/\x0/\n/g' "$out/bootstate"
mcopy -i "$esp" "$out/bootstate" ::bootstate
rm -f "$out/bootstate"
for slot in A B; do
  printf 'title Ringbox (slot %s)\nlinux /Image\ninitrd /initrd.img\noptions console=ttyAMA0 rauc.slot=%s panic=5 quiet\n' "$slot" "$slot" >"$out/entry.conf"
  mcopy -i "$esp" "$out/entry.conf" "::loader/entries/ringbox-${slot,,}.conf"
done
rm -f "$out/loader.conf" "$out/entry.conf"
cp "$out/input/Image" "$out/input/initrd.img" "$out/"
# The slot image, for scripts/bundle.sh.
mv "$out/input/rootfs.ext4" "$out/rootfs.ext4"
rm -rf "$out/tmp" "$out/input" "$out/boot.vfat"

mb() { awk -v b="$1" 'BEGIN{printf "%.1f MB", b/1048576}'; }
echo "image: $out/ringbox.img $(mb "$(stat -c %s "$out/ringbox.img")"), $(mb "$(du -B1 "$out/ringbox.img" | cut -f1)") allocated (sparse) (kernel $kver)"
echo "  rootfs contents $(mb "$rootfs_used") in a $rootfs_size ext4 (ringbox $(mb "$(stat -c %s "$r/usr/bin/ringbox")"))"
echo "  kernel $(mb "$(stat -c %s "$out/Image")"), initrd $(mb "$(stat -c %s "$out/initrd.img")") (modules: $modules)"

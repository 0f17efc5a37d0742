#!/usr/bin/env bash
# Boots dist/image/ringbox.img (scripts/image.sh) in qemu-system-aarch64 on
# a fresh copy of the disk (first boot) and checks it from the host through
# qemu's user network: SIP OPTIONS gets 200, the web page answers, and GET /
# leads to the first-boot setup form (admin password). Prints the kernel
# boot time and the time from power-on to SIP answering. Fails after
# BOOT_TIMEOUT seconds (default 150). Installs qemu when missing and running
# as root.
set -euo pipefail
cd "$(dirname "$0")/../.."
img=dist/image
timeout_s=${BOOT_TIMEOUT:-150}
# Host ports forwarded to the box's SIP (UDP 5060) and web (TCP 80).
sip_port=${SIP_PORT:-$((20000 + RANDOM % 20000))}
http_port=${HTTP_PORT:-$((sip_port + 1))}

if ! command -v qemu-system-aarch64 >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then echo "image-test: need qemu-system-arm (apt-get install it, as root)" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 qemu-system-arm >/dev/null
fi
for f in ringbox.img Image initrd.img; do
  [ -f "$img/$f" ] || { echo "image-test: no $img/$f: run make image first" >&2; exit 1; }
done

work=$(mktemp -d)
qpid=
cleanup() {
  [ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/sipping" ./scripts/image/sipping
cp --sparse=always "$img/ringbox.img" "$work/disk.img"

start=$(date +%s.%N)
# The same command as docs/firmware.md, with the ports this test picked.
nice timeout "$timeout_s" qemu-system-aarch64 -M virt -cpu cortex-a57 -smp 2 -m 1024 \
  -nographic -no-reboot \
  -kernel "$img/Image" -initrd "$img/initrd.img" \
  -append "console=ttyAMA0 rauc.slot=A panic=5 quiet" \
  -drive file="$work/disk.img",format=raw,if=none,id=d0 -device virtio-blk-pci,drive=d0 \
  -netdev user,id=n0,hostfwd=udp:127.0.0.1:$sip_port-:5060,hostfwd=tcp:127.0.0.1:$http_port-:80 \
  -device virtio-net-pci,netdev=n0,romfile= \
  </dev/null >"$work/console.log" 2>&1 &
qpid=$!

fail() {
  echo "image-test: FAIL: $*" >&2
  echo "--- console" >&2
  cat "$work/console.log" >&2
  exit 1
}
left=$((timeout_s - 5))
sip=$("$work/sipping" -timeout "${left}s" "127.0.0.1:$sip_port") || fail "no SIP 200 to OPTIONS"
sip_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')

code=$(curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$http_port/") || fail "web page: no answer"
case $code in
  "303 http://127.0.0.1:$http_port/setup" | 200*) ;;
  *) fail "GET / answered $code, not the first-boot setup" ;;
esac
curl -s -m 10 -L "http://127.0.0.1:$http_port/" >"$work/setup.html" || fail "GET / (following redirects) failed"
grep -q 'id="setup-form"' "$work/setup.html" && grep -q 'type="password"' "$work/setup.html" ||
  fail "GET / does not show the setup form with an admin password field"

kernel_s=$(sed -n 's/.*initramfs: kernel up in \([0-9.]*\)s.*/\1/p' "$work/console.log" | head -1)
grep -q 'initramfs: rootfs slot A' "$work/console.log" || fail "the initramfs did not mount rootfs slot A"
echo "image-test: console:"
grep -E '^(initramfs|network|ntp|ringbox|data):' "$work/console.log" | sed 's/^/  /'
echo "image-test: PASS  SIP: $sip; web: GET / -> setup form (admin password)"
echo "image-test: kernel boot to /init ${kernel_s:-?} s; power-on to SIP answering $sip_s s"

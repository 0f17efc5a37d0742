#!/usr/bin/env bash
# Boots dist/image/ringbox.img (scripts/image.sh) in qemu-system-aarch64 on
# a fresh copy of the disk and checks it from the host through qemu's user
# network:
#   boot 1 (slot A, first boot): SIP OPTIONS gets 200, GET / leads to the
#     first-boot setup form (admin password); the admin is created; killing
#     ringbox from the console, the supervisor restarts it; a static network
#     is saved in /data/network.conf and the box reboots.
#   boot 2 (slot B): the static network is used, SIP answers, the admin is
#     still there (GET / asks for a login: /data was kept).
#   boot 3: the disk alone, through qemu's UEFI firmware and systemd-boot.
# Prints the kernel boot time and the time from power-on to SIP answering.
# Each boot fails after BOOT_TIMEOUT seconds (default 80). Installs qemu
# when missing and running as root.
set -euo pipefail
cd "$(dirname "$0")/../.."
img=dist/image
timeout_s=${BOOT_TIMEOUT:-80}
# Host ports forwarded to the box's SIP (UDP 5060) and web (TCP 80).
sip_port=${SIP_PORT:-$((20000 + RANDOM % 20000))}
http_port=${HTTP_PORT:-$((sip_port + 1))}
web=http://127.0.0.1:$http_port

# qemu's UEFI firmware for arm64 (qemu-efi-aarch64).
efi=/usr/share/qemu-efi-aarch64/QEMU_EFI.fd
need=()
command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
[ -f $efi ] || need+=(qemu-efi-aarch64)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "image-test: need ${need[*]} (apt-get install them, as root)" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${need[@]}" >/dev/null
fi
for f in ringbox.img Image initrd.img; do
  [ -f "$img/$f" ] || { echo "image-test: no $img/$f: run make image first" >&2; exit 1; }
done

work=$(mktemp -d)
qpid=
cleanup() {
  if [ -n "$qpid" ]; then kill "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; fi
  exec 3>&- || true
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/sipping" ./scripts/image/sipping
cp --sparse=always "$img/ringbox.img" "$work/disk.img"
mkfifo "$work/console.in"
exec 3<>"$work/console.in" # the console's input, kept open

con=
fail() {
  echo "image-test: FAIL: $*" >&2
  [ -n "$con" ] && { echo "--- console" >&2; cat "$con" >&2; }
  exit 1
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
# say CMD types CMD on the console (a shell there after Enter).
say() { printf '%s\n' "$1" >&3; }

# boot SLOT powers the box on with the kernel told to use rootfs SLOT and
# waits for SIP; it sets con, start and sip_s. SLOT "uefi": qemu's UEFI
# firmware boots the disk (systemd-boot's default entry, slot A).
boot() {
  local slot=$1 load=(-kernel "$img/Image" -initrd "$img/initrd.img" -append "console=ttyAMA0 rauc.slot=$1 panic=5 quiet")
  if [ "$1" = uefi ]; then slot=A load=(-bios $efi); fi
  con=$work/console-$1.log
  start=$(date +%s.%N)
  # The same command as docs/firmware.md, with the ports this test picked.
  nice timeout "$timeout_s" qemu-system-aarch64 -M virt -cpu cortex-a57 -smp 2 -m 1024 \
    -nographic -no-reboot "${load[@]}" \
    -drive file="$work/disk.img",format=raw,if=none,id=d0 -device virtio-blk-pci,drive=d0 \
    -netdev user,id=n0,hostfwd=udp:127.0.0.1:$sip_port-:5060,hostfwd=tcp:127.0.0.1:$http_port-:80 \
    -device virtio-net-pci,netdev=n0,romfile= \
    <&3 >"$con" 2>&1 &
  qpid=$!
  sip=$("$work/sipping" -timeout "$((timeout_s - 5))s" "127.0.0.1:$sip_port") || fail "slot $1: no SIP 200 to OPTIONS"
  sip_s=$(since "$start")
  grep -q "initramfs: rootfs slot $slot on" "$con" || fail "the initramfs did not mount rootfs slot $slot"
  kernel_s=$(sed -n 's/.*initramfs: kernel up in \([0-9.]*\)s.*/\1/p' "$con" | head -1)
  echo "image-test: boot $1: kernel to /init ${kernel_s:-?} s; power-on to SIP 200 $sip_s s"
}
# wait_console RE waits up to 20 s for RE on the console.
wait_console() {
  for _ in $(seq 40); do grep -qE "$1" "$con" && return 0; sleep 0.5; done
  fail "no \"$1\" on the console"
}

boot A
first_sip=$sip_s first_kernel=$kernel_s
code=$(curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' "$web/") || fail "web page: no answer"
[ "$code" = "303 $web/setup" ] || fail "GET / answered $code, not the first-boot setup"
curl -s -m 10 -L "$web/" >"$work/setup.html" || fail "GET / (following redirects) failed"
grep -q 'id="setup-form"' "$work/setup.html" && grep -q 'type="password"' "$work/setup.html" ||
  fail "GET / does not show the setup form with an admin password field"
echo "image-test: first boot: GET / -> /setup, the form asks for the admin password"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"login":"admin","password":"image-test-Pw-0413"}' "$web/api/v1/setup") || fail "setup: no answer"
[ "$code" = 201 ] || fail "POST /api/v1/setup answered $code"

say ''
sleep 1
say 'killall ringbox; sleep 2; echo "restart-check: $(pidof ringbox)"'
killed=$(date +%s.%N)
wait_console 'restart-check: [0-9]+'
"$work/sipping" -timeout 30s "127.0.0.1:$sip_port" >/dev/null || fail "no SIP after ringbox was killed"
echo "image-test: ringbox killed: running again within 2 s, SIP 200 again after $(since "$killed") s"

say 'printf "MODE=static\nADDRESS=10.0.2.15/24\nGATEWAY=10.0.2.2\nDNS=10.0.2.3\n" >/data/network.conf; echo server pool.ntp.org >/data/ntp.conf; sync; reboot'
wait "$qpid" || true
qpid=
boot B
grep -q 'network: eth0 static 10.0.2.15/24' "$con" || fail "the static network in /data/network.conf was not used"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' "$web/") || fail "web page: no answer after reboot"
[ "$code" = "303 $web/login" ] || fail "after reboot GET / answered $code, not the login (was /data kept?)"
say ''
sleep 1
say 'echo "log-check: $(cat /data/log/messages* | grep -c "ringbox started")"'
wait_console 'log-check: [0-9]+'
starts=$(sed -n 's/.*log-check: \([0-9]*\).*/\1/p' "$con" | tail -1)
[ "$starts" -ge 3 ] || fail "/data/log has $starts ringbox starts, want 3 (two boots and a restart)"
grep -q 'ntp: servers pool.ntp.org' "$con" || fail "the clock service did not start with /data/ntp.conf's server"
say 'echo "ntp-check: $(pidof sntp ntpd)"'
wait_console 'ntp-check: [0-9]+'

echo "image-test: reboot on slot B: static network, admin kept, /data/log holds both boots"

say 'reboot'
wait "$qpid" || true
qpid=
boot uefi
uefi_sip=$sip_s
code=$(curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' "$web/") || fail "web page: no answer after the UEFI boot"
[ "$code" = "303 $web/login" ] || fail "after the UEFI boot GET / answered $code, not the login"
echo "image-test: the disk boots on its own with UEFI firmware (systemd-boot, slot A)"
echo "image-test: PASS  $sip; first boot: kernel to /init ${first_kernel:-?} s, power-on to SIP 200 $first_sip s (UEFI disk boot: $uefi_sip s)"

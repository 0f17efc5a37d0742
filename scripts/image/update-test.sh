#!/usr/bin/env bash
# The update test: boots the qemu image (scripts/image.sh at version A) as
# the box does, without rauc.slot= (the boot state picks the slot), and
# drives it from the host through qemu's user network and the console:
#   a) on slot A, the admin is created (POST /api/v1/setup) and bundle B is
#      uploaded to POST /api/v1/system/firmware; after a reboot the box runs
#      slot B, version B, marked good (the API and the console say so);
#   b) before that reboot, a bundle signed by another key is refused (422,
#      signature) and slot B still holds bundle B's image (its SHA-256 read
#      on the console);
#   c) a broken bundle (its ringbox exits at start) is installed into A: the
#      box tries it twice, boots back into B by itself, and the API reports
#      the rollback with the reason;
#   d) power cut: qemu is killed (-9) while a bundle is being written; the
#      box boots the old slot and answers.
# Builds what is missing under dist/update-test (the image at VERSION_A, the
# bundles of VERSION_B and VERSION_C, broken) once; REBUILD=1 builds again.
# Prints each step's time and PASS/FAIL lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
A=${VERSION_A:-v1.0.0} B=${VERSION_B:-v1.1.0} C=${VERSION_C:-v1.2.0}
dist=dist/update-test
img=$dist/image
timeout_s=${BOOT_TIMEOUT:-120}
sip_port=${SIP_PORT:-$((20000 + RANDOM % 20000))}
https_port=${HTTPS_PORT:-$((sip_port + 1))}
# The box's web page is HTTPS with its own self-signed certificate (plain
# HTTP redirects there): curl -k, as a browser's "accept the risk".
web=https://127.0.0.1:$https_port
t0=${UPDATE_TEST_T0:-$(date +%s.%N)}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
step_t=$t0
step() { echo "update-test: [$(since "$t0") s, step $(since "$step_t") s] $*"; step_t=$(date +%s.%N); }

command -v qemu-system-aarch64 >/dev/null || {
  [ "$(id -u)" -eq 0 ] || { echo "update-test: need qemu-system-arm (apt-get install, as root)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 qemu-system-arm >/dev/null
}
if [ -n "${REBUILD:-}" ] || [ ! -f "$img/ringbox.img" ]; then
  IMAGE_OUT=$img nice scripts/image.sh "$A" | tail -1
fi
bb=$dist/ringbox-qemu-virt-$B.raucb bc=$dist/ringbox-qemu-virt-$C-broken.raucb
[ -z "${REBUILD:-}" ] && [ -f "$bb" ] || BUNDLE_OUT=$dist nice scripts/bundle.sh "$B"
[ -z "${REBUILD:-}" ] && [ -f "$bc" ] || BROKEN=1 BUNDLE_OUT=$dist nice scripts/bundle.sh "$C"
# Built here, before the namespace below takes the network away.
go build -o "$dist/sipping" ./scripts/image/sipping
# The boots run in a network namespace of their own (as root, with
# unshare), so the ports forwarded to the box cannot meet other programs'
# (make test runs the Go tests alongside); UPDATE_TEST_HOSTNET=1 stays on
# the host's loopback.
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && [ "${UPDATE_TEST_HOSTNET:-0}" != 1 ] && [ -z "${UPDATE_TEST_NETNS:-}" ]; then
  export UPDATE_TEST_NETNS=1 UPDATE_TEST_T0=$t0
  REBUILD= exec unshare -n -- bash -c 'ip link set lo up && exec "$0"' "$PWD/scripts/image/update-test.sh"
fi
step "built: image $A, bundle $B $(du -h "$bb" | cut -f1), broken bundle $C"

work=$(mktemp -d)
qpid=
cleanup() {
  if [ -n "$qpid" ]; then kill -9 "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; fi
  exec 3>&- || true
  rm -rf "$work"
}
trap cleanup EXIT
cp "$dist/sipping" "$work/sipping"
cp --sparse=always "$img/ringbox.img" "$work/disk.img"
mkfifo "$work/console.in"
exec 3<>"$work/console.in"
con=$work/console.log
: >"$con"
# The broken bundle re-signed by a stranger's key: a payload other than
# B's, whose signature is not from the box's keyring.
mkdir "$work/stranger"
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=stranger" -keyout "$work/stranger/key.pem" -out "$work/stranger/cert.pem" 2>/dev/null
rauc resign --keyring "$(scripts/image/devkeys.sh)/ca.cert.pem" --signing-keyring "$work/stranger/cert.pem" \
  --cert "$work/stranger/cert.pem" --key "$work/stranger/key.pem" "$bc" "$work/stranger.raucb" >/dev/null 2>&1 ||
  { echo "update-test: FAIL: rauc resign" >&2; exit 1; }
# An install writes the slot from its first byte on: slot B's first 4 MiB
# (the ext4 superblock, with the file system's UUID and times) tell whether
# anything was written after bundle B (hashing all 64 MB takes a minute in
# qemu).
b_sha=$(set +o pipefail; unsquashfs -cat "$bb" rootfs.ext4 2>/dev/null | head -c 4194304 | sha256sum | cut -c1-64)

fail() {
  echo "update-test: FAIL: $*" >&2
  echo "--- console (last 80 lines)" >&2
  tail -n 80 "$con" >&2
  exit 1
}
say() { printf '%s\n' "$1" >&3; }
# shell CMD runs CMD on the console (Enter first: the console asks for it
# after each boot).
shell() { say ''; sleep 1; say "$1"; }
count() { grep -c -- "$1" "$con" || true; }
# wait_console RE N SECONDS: until RE is on the console N times.
wait_console() {
  local end=$(($(date +%s) + $3))
  while [ "$(count "$1")" -lt "$2" ]; do
    [ "$(date +%s)" -lt $end ] || fail "no \"$1\" (#$2) on the console within $3 s"
    kill -0 "$qpid" 2>/dev/null || fail "qemu exited"
    sleep 0.5
  done
}
# power_on starts qemu on the disk (kernel and initrd from the image, no
# rauc.slot=); the box reboots inside the same qemu.
power_on() {
  nice qemu-system-aarch64 -M virt -cpu cortex-a57 -smp 2 -m 1024 -nographic \
    -kernel "$img/Image" -initrd "$img/initrd.img" -append "console=ttyAMA0 panic=5 quiet" \
    -drive file="$work/disk.img",format=raw,if=none,id=d0 -device virtio-blk-pci,drive=d0 \
    -netdev user,id=n0,hostfwd=udp:127.0.0.1:$sip_port-:5060,hostfwd=tcp:127.0.0.1:$https_port-:443 \
    -device virtio-net-pci,netdev=n0,romfile= \
    <&3 >>"$con" 2>&1 &
  qpid=$!
}
api() { # METHOD PATH [curl args...]: prints the status code, body in $work/body
  local m=$1 p=$2
  shift 2
  curl -k -s -m 300 -o "$work/body" -w '%{http_code}' -X "$m" -b "$work/jar" -c "$work/jar" \
    -H 'X-Requested-With: ringbox' "$@" "$web$p" || echo 000
}
login() {
  code=$(api POST /api/v1/session -H 'Content-Type: application/json' -d '{"login":"admin","password":"update-test-Pw-0413"}')
  [ "$code" = 200 ] || [ "$code" = 204 ] || fail "login answered $code: $(cat "$work/body")"
}
firmware() { # prints GET /api/v1/system/firmware's JSON
  code=$(api GET /api/v1/system/firmware)
  [ "$code" = 200 ] || fail "GET /api/v1/system/firmware answered $code: $(cat "$work/body")"
  cat "$work/body"
}
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# a) slot A, version A.
power_on
wait_console 'health: slot A good' 1 "$timeout_s"
"$work/sipping" -timeout 30s "127.0.0.1:$sip_port" >/dev/null || fail "no SIP 200 on slot A"
code=$(api POST /api/v1/setup -H 'Content-Type: application/json' -d '{"login":"admin","password":"update-test-Pw-0413"}')
[ "$code" = 201 ] || fail "POST /api/v1/setup answered $code"
login
st=$(firmware)
[ "$(echo "$st" | jq_ 'd["booted"] + " " + d["version"]')" = "A $A" ] || fail "slot A: firmware status $st"
step "a) power-on to slot A ($A) marked good, admin created"
code=$(api POST /api/v1/system/firmware -H 'Content-Type: application/octet-stream' --data-binary @"$bb")
[ "$code" = 200 ] || fail "uploading bundle $B answered $code: $(cat "$work/body")"
install_s=$(since "$step_t")
[ "$(jq_ 'd["info"]["version"] + " " + d["pending"]["name"] + " " + str(d["reboot_required"])' <"$work/body")" = "$B B True" ] ||
  fail "install answer $(cat "$work/body")"
step "a) bundle $B uploaded and installed into slot B (upload + check + write in qemu: $install_s s)"

# b) another key's bundle: refused, slot B untouched.
code=$(api POST /api/v1/system/firmware -H 'Content-Type: application/octet-stream' --data-binary @"$work/stranger.raucb")
[ "$code" = 422 ] && grep -q 'signature' "$work/body" || fail "a stranger's bundle answered $code: $(cat "$work/body")"
echo "update-test: refused: $(cat "$work/body")"
shell 'echo "slotB-sha: $(head -c 4194304 $(for u in /sys/class/block/*/uevent; do (. $u; [ "$PARTNAME" = rootB ] && echo /dev/$DEVNAME); done) | sha256sum | cut -c1-64)"'
wait_console 'slotB-sha: [0-9a-f]' 1 60
got=$(sed -n 's/.*slotB-sha: \([0-9a-f]\{64\}\).*/\1/p' "$con" | tail -1)
[ "$got" = "$b_sha" ] || fail "slot B holds sha256 $got, bundle $B's image is $b_sha"
[ "$(firmware | jq_ 'd["pending"]["version"]')" = "$B" ] || fail "the pending install changed"
step "b) a bundle signed by another key refused (422); slot B still starts with $B's image (sha256 ${got:0:12}...)"

shell reboot
wait_console 'health: slot B good' 1 "$timeout_s"
"$work/sipping" -timeout 30s "127.0.0.1:$sip_port" >/dev/null || fail "no SIP 200 on slot B"
login
st=$(firmware)
[ "$(echo "$st" | jq_ 'd["booted"] + " " + d["version"] + " " + [s["state"] for s in d["slots"] if s["name"] == "B"][0] + " " + str(d.get("pending"))')" = "B $B good None" ] ||
  fail "after the reboot: $st"
step "a) rebooted into slot B, version $B, marked good"

# c) the broken bundle: rolls back to B by itself.
code=$(api POST /api/v1/system/firmware -H 'Content-Type: application/octet-stream' --data-binary @"$bc")
[ "$code" = 200 ] || fail "uploading the broken bundle answered $code: $(cat "$work/body")"
shell reboot
wait_console 'health: slot A FAILED' 2 "$((timeout_s * 2))"
wait_console 'health: slot B good' 2 "$((timeout_s * 2))"
[ "$(count 'initramfs: rootfs slot A on')" -eq 3 ] || fail "slot A was booted $(count 'initramfs: rootfs slot A on') times in all, want 1 + 2 tries"
login
st=$(firmware)
echo "update-test: rollback: $(echo "$st" | jq_ 'd["rollback"]')"
[ "$(echo "$st" | jq_ 'd["booted"] + " " + d["rollback"]["from"] + " " + d["rollback"]["version"]')" = "B A $C" ] &&
  echo "$st" | jq_ 'd["rollback"]["reason"]' | grep 'ringbox exited' >/dev/null || fail "after the rollback: $st"
# The System page says it too, as the admin sees it.
code=$(api GET /system)
[ "$code" = 200 ] && grep -q 'ringbox exited' "$work/body" && grep -q "$C" "$work/body" ||
  fail "the System page (GET /system answered $code) does not show the rollback of $C and its reason"
echo "update-test: the System page shows the rollback of $C and why"
step "c) broken bundle $C: 2 failed boots of slot A, back on slot B by itself; the API gives the reason"

# d) power cut while writing.
cp "$work/jar" "$work/jar2"
curl -k -s -m 300 -o /dev/null -b "$work/jar2" -H 'X-Requested-With: ringbox' -H 'Content-Type: application/octet-stream' \
  --data-binary @"$bb" "$web/api/v1/system/firmware" &
upload=$!
end=$(($(date +%s) + 240))
while :; do
  code=$(api GET /api/v1/system/firmware)
  grep -q '"step":"write"' "$work/body" && break
  [ "$(date +%s)" -lt $end ] || fail "no write progress seen"
  sleep 0.3
done
kill -9 "$qpid"
wait "$qpid" 2>/dev/null || true
wait "$upload" 2>/dev/null || true
echo "update-test: power cut during: $(cat "$work/body")"
power_on
wait_console 'health: slot B good' 3 "$timeout_s"
"$work/sipping" -timeout 30s "127.0.0.1:$sip_port" >/dev/null || fail "no SIP 200 after the power cut"
login
st=$(firmware)
[ "$(echo "$st" | jq_ 'd["booted"] + " " + d["version"] + " " + [s["state"] for s in d["slots"] if s["name"] == "A"][0]')" = "B $B empty" ] ||
  fail "after the power cut: $st"
step "d) power cut while writing slot A: the box came up on slot B and answers; slot A is empty"
echo "update-test: PASS  bundle $(du -h "$bb" | cut -f1), install in qemu $install_s s, total $(since "$t0") s"

#!/usr/bin/env bash
# Boots dist/image/ringbox.img (scripts/image.sh) in qemu-system-aarch64 on
# a fresh copy of the disk and checks it from the host through qemu's user
# network (docs/firmware.md, "Boot test"):
#   boot 1 (slot A, first boot): SIP OPTIONS gets 200; GET / leads to the
#     first-boot setup form (admin password); the web page answers over
#     HTTPS too (when the image starts ringbox with --https); the admin is
#     created; the NAT flags go to /data/ringbox.env; ringbox killed with
#     SIGKILL is running again within 2 s; a site (trunk to the host,
#     inbound and outbound routes) is imported through the web API and a
#     SIPp call from the host through the box to a SIPp far end on the host
#     completes with audio relayed both ways by the box; a static network is
#     saved in /data/network.conf and the box reboots.
#   boot 2 (slot B): the static network is used, SIP answers, the admin is
#     still there (GET / asks for a login: /data was kept), the logs hold
#     every start; then ringbox is stopped (SIGSTOP) and qemu's i6300esb
#     watchdog resets the box.
#   boot 3: the box comes back: the disk alone, through qemu's UEFI firmware
#     and systemd-boot, SIP answers.
# Prints, per boot, the kernel's boot time, the init scripts' share, ringbox's
# own start-up and the time from power-on to SIP answering.
#
# It runs as root (SIPp's pcap play needs a raw socket), in a private
# network namespace (unshare -n), so its ports cannot meet other programs';
# IMAGE_TEST_HOSTNET=1 stays on the host's loopback with host ports picked
# at random (SIP_PORT; the rest follow). Each boot fails after BOOT_TIMEOUT seconds
# (default 90). Installs qemu and SIPp when missing and running as root.
# Debugging: IMAGE_TEST_KEEP=1 keeps the consoles, SIPp's messages and the
# disk; IMAGE_TEST_PCAP=1 also captures the call (tcpdump).
set -euo pipefail
cd "$(dirname "$0")/../.."
img=dist/image
timeout_s=${BOOT_TIMEOUT:-90}
here=scripts/image
# qemu's UEFI firmware for arm64 (qemu-efi-aarch64).
efi=/usr/share/qemu-efi-aarch64/QEMU_EFI.fd
pcap=/usr/share/sip-tester/g711a.pcap
# ringbox starts with --https when the image's init script says so.
https=
grep -q -- '--https' board/pbx-a/overlay/etc/init.d/S60ringbox && https=1

if [ -z "${IMAGE_TEST_NETNS:-}" ]; then
  test_start=$(date +%s.%N)
  export IMAGE_TEST_START=$test_start
  need=()
  command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
  [ -f $efi ] || need+=(qemu-efi-aarch64)
  command -v sipp >/dev/null && [ -f $pcap ] || need+=(sip-tester)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then echo "image-test: need ${need[*]} (apt-get install them, as root)" >&2; exit 1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${need[@]}" >/dev/null
  fi
  if [ "$(id -u)" -ne 0 ]; then
    # SIPp plays the call's audio from a pcap through a raw socket.
    echo "image-test: run as root (SIPp's pcap play needs a raw socket; the test runs in its own network namespace)" >&2
    exit 1
  fi
  for f in ringbox.img Image initrd.img; do
    [ -f "$img/$f" ] || { echo "image-test: no $img/$f: run make image first" >&2; exit 1; }
  done
  mkdir -p "$img/test"
  # Built here, before the namespace takes the network away.
  go build -o "$img/test/sipping" ./$here/sipping
  if command -v unshare >/dev/null && [ "${IMAGE_TEST_HOSTNET:-0}" != 1 ]; then
    export IMAGE_TEST_NETNS=1
    exec unshare -n -- bash -c 'ip link set lo up && exec "$0"' "$PWD/$here/boot-test.sh"
  fi
  IMAGE_TEST_NETNS=0
fi
test_start=${IMAGE_TEST_START:-$(date +%s.%N)}

# Host ports forwarded to the box: SIP (UDP 5060), web (TCP 80, 443) and
# the box's RTP range, forwarded port for port (the box names these ports in
# its SDP, with --public-ip 127.0.0.1). In the private namespace the ports
# are the box's own; on the shared host, random ones.
if [ "$IMAGE_TEST_NETNS" = 1 ]; then
  sip_port=${SIP_PORT:-5060} http_port=80 https_port=443 rtp_lo=30000
else
  sip_port=${SIP_PORT:-$((21000 + RANDOM % 9000 * 2))}
  http_port=$((sip_port + 1)) https_port=$((sip_port + 2)) rtp_lo=$((sip_port + 4))
fi
rtp_hi=$((rtp_lo + 11))
uas_port=$((rtp_lo + 20)) uac_port=$((rtp_lo + 21)) uas_media=$((rtp_lo + 30)) uac_media=$((rtp_lo + 40))
plain=http://127.0.0.1:$http_port
# The page and the API: over HTTPS when ringbox serves it (the plain port
# then redirects there), with the box's self-signed certificate (curl -k).
web=$plain
if [ -n "$https" ]; then
  web=https://127.0.0.1:$https_port
  [ "$https_port" = 443 ] && web=https://127.0.0.1
fi
curl() { command curl -k "$@"; }
fwd=hostfwd=udp:127.0.0.1:$sip_port-:5060,hostfwd=tcp:127.0.0.1:$http_port-:80,hostfwd=tcp:127.0.0.1:$https_port-:443
for ((p = rtp_lo; p <= rtp_hi; p++)); do fwd+=,hostfwd=udp:127.0.0.1:$p-:$p; done

work=$(mktemp -d)
qpid=
sipp_pids=()
cleanup() {
  if [ -n "$qpid" ]; then kill "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; fi
  for p in "${sipp_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  exec 3>&- 4>&- || true
  [ "${IMAGE_TEST_KEEP:-0}" = 1 ] && echo "image-test: files kept in $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
sipping=$img/test/sipping
cp --sparse=always "$img/ringbox.img" "$work/disk.img"
mkfifo "$work/console.in" "$work/qmp.in" "$work/qmp.out"
exec 3<>"$work/console.in" # the console's input, kept open
exec 4<>"$work/qmp.in"     # qemu's monitor (QMP): its watchdog events

con=
fail() {
  echo "image-test: FAIL: $*" >&2
  # The box's own log, when it is still up.
  if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
    say ''
    say 'tail -n 40 /data/log/messages'
    sleep 3
  fi
  [ -n "$con" ] && { echo "--- console" >&2; cat "$con" >&2; }
  exit 1
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
# say CMD types CMD on the console (a shell there after Enter).
say() { printf '%s\n' "$1" >&3; }
# wait_console RE [SECONDS] waits (default 20 s) for RE on the console.
wait_console() {
  local n=$((${2:-20} * 2))
  for _ in $(seq "$n"); do grep -qaE "$1" "$con" && return 0; sleep 0.5; done
  fail "no \"$1\" on the console"
}
# console_value TAG prints what the console printed after the last "TAG: ".
console_value() { grep -aoE "$1: [^[:cntrl:]]*" "$con" | tail -1 | sed "s/^$1: //"; }

# boot SLOT powers the box on with the kernel told to use rootfs SLOT and
# waits for SIP; it sets con, start, sip_s and the boot's figures. SLOT
# "uefi": qemu's UEFI firmware boots the disk (systemd-boot's default entry,
# slot A).
boot() {
  local slot=$1 load=(-kernel "$img/Image" -initrd "$img/initrd.img" -append "console=ttyAMA0 rauc.slot=$1 panic=5 quiet")
  if [ "$1" = uefi ]; then slot=A load=(-bios $efi); fi
  con=$work/console-$1.log
  start=$(date +%s.%N)
  # The command of docs/firmware.md, with the ports this test picked, the
  # watchdog (its reset ends qemu, as -no-reboot makes every reset do) and
  # the monitor on a pipe.
  nice timeout "$timeout_s" qemu-system-aarch64 -M virt -cpu cortex-a57 -smp 2 -m 1024 \
    -nographic -no-reboot "${load[@]}" \
    -drive file="$work/disk.img",format=raw,if=none,id=d0 -device virtio-blk-pci,drive=d0 \
    -netdev "user,id=n0,$fwd" -device virtio-net-pci,netdev=n0,romfile= \
    -device i6300esb -action watchdog=reset \
    -chardev pipe,id=qmp,path="$work/qmp" -mon chardev=qmp,mode=control \
    <&3 >"$con" 2>&1 &
  qpid=$!
  cat "$work/qmp.out" >"$work/qmp-$1.log" &
  printf '{"execute":"qmp_capabilities"}\n' >&4
  sip=$("$sipping" -timeout "$((timeout_s - 5))s" "127.0.0.1:$sip_port") || fail "slot $1: no SIP 200 to OPTIONS"
  sip_s=$(since "$start")
  grep -qa "initramfs: rootfs slot $slot on" "$con" || fail "the initramfs did not mount rootfs slot $slot"
  kernel_s=$(sed -n 's/.*initramfs: kernel up in \([0-9.]*\)s.*/\1/p' "$con" | head -1)
  # ringbox's own start-up: from the supervisor starting it to its
  # "ringbox started" log line (SIP and web listening), as uptimes
  # (/usr/sbin/ringbox-supervise).
  say ''
  sleep 1
  say 'echo "startup: $(cat /run/ringbox.spawned) $(cat /run/ringbox.ready)"'
  wait_console 'startup: [0-9.]+ [0-9.]+'
  local v
  v=$(console_value startup)
  rb_s=$(awk -v a="${v%% *}" -v b="${v#* }" 'BEGIN{printf "%.2f", b-a}')
  init_s=$(sed -n 's/.*ringbox: started at \([0-9.]*\)s.*/\1/p' "$con" | tail -1)
  echo "image-test: boot $1: kernel to /init ${kernel_s:-?} s; ringbox started by init at ${init_s:-?} s uptime; ringbox start-up $rb_s s; power-on to SIP 200 $sip_s s"
}
# power_off_wait waits for qemu to end (a reboot or reset: -no-reboot).
power_off_wait() {
  local t=$1
  for _ in $(seq $((t * 5))); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$qpid" 2>/dev/null && fail "qemu still running $t s later"
  wait "$qpid" || true
  qpid=
}

boot A
first_sip=$sip_s first_kernel=$kernel_s first_init=$init_s first_rb=$rb_s
code=$(curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' "$web/") || fail "web page: no answer"
[ "$code" = "303 $web/setup" ] || fail "GET / answered $code, not the first-boot setup"
curl -s -m 10 -L "$web/" >"$work/setup.html" || fail "GET / (following redirects) failed"
grep -q 'id="setup-form"' "$work/setup.html" && grep -q 'type="password"' "$work/setup.html" ||
  fail "GET / does not show the setup form with an admin password field"
echo "image-test: first boot: GET / -> /setup, the form asks for the admin password"
if [ -n "$https" ]; then
  # Plain HTTP redirects to the HTTPS port (which the host forwards from
  # 443 only in the private namespace: then the redirect is followable).
  code=$(curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' "$plain/") || fail "plain HTTP: no answer"
  case $code in "301 https://127.0.0.1"*/) ;; *) fail "GET / over plain HTTP answered $code, not a redirect to HTTPS" ;; esac
  openssl_subject=$(curl -s -m 10 -o /dev/null -w '%{certs}' "$web/" 2>/dev/null | sed -n 's/^Subject: *//p' | head -1) || true
  echo "image-test: the web page answers over HTTPS with the box's certificate (${openssl_subject:-self-signed}); plain HTTP redirects there"
fi
pw=image-test-Pw-0413
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "{\"login\":\"admin\",\"password\":\"$pw\"}" "$web/api/v1/setup") || fail "setup: no answer"
[ "$code" = 201 ] || fail "POST /api/v1/setup answered $code"

# Behind qemu's NAT the box must name the host's side in its SDP
# (--public-ip) and use the RTP ports the host forwards (docs/firmware.md,
# "Behind NAT").
say "echo 'FLAGS=\"--public-ip 127.0.0.1 --rtp-ports $rtp_lo-$rtp_hi\"' >/data/ringbox.env; /etc/init.d/S60ringbox restart"
for _ in $(seq 20); do [ "$(grep -ca 'ringbox: started at' "$con")" -ge 2 ] && break; sleep 0.5; done
[ "$(grep -ca 'ringbox: started at' "$con")" -ge 2 ] || fail "S60ringbox restart did not start ringbox again"
sleep 1
"$sipping" -timeout 30s "127.0.0.1:$sip_port" >/dev/null || fail "no SIP after ringbox restarted with the NAT flags"

# A crash: SIGKILL leaves no time to clean up; the supervisor starts
# ringbox again 1 s later.
say 'old=$(pidof ringbox); kill -9 $old; i=0; while [ $i -lt 50 ]; do new=$(pidof ringbox); [ -n "$new" ] && [ "$new" != "$old" ] && break; sleep 0.1; i=$((i+1)); done; echo "restart-check: ${new:-none} after $i"'
killed=$(date +%s.%N)
wait_console 'restart-check: [0-9a-z]+ after [0-9]+'
v=$(console_value restart-check)
[ "${v%% *}" != none ] || fail "ringbox was not running again 5 s after kill -9"
tenths=${v##* }
[ "$tenths" -le 20 ] || fail "ringbox took $tenths tenths of a second to restart after kill -9, want at most 2 s"
"$sipping" -timeout 30s "127.0.0.1:$sip_port" >/dev/null || fail "no SIP after ringbox was killed"
crash_s=$(awk -v t="$tenths" 'BEGIN{printf "%.1f", t/10}')
echo "image-test: ringbox killed (SIGKILL): running again after $crash_s s, SIP 200 again after $(since "$killed") s"

# The site, through the web API as an administrator would import it.
curl -s -m 10 -c "$work/cookies" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "{\"login\":\"admin\",\"password\":\"$pw\"}" "$web/api/v1/session" >"$work/code" || fail "login: no answer"
[ "$(cat "$work/code")" = 200 ] || fail "POST /api/v1/session answered $(cat "$work/code")"
sed "s/@FAREND@/10.0.2.2:$uas_port/; s/@PASSWORD@/$pw/" $here/site.yaml.tmpl >"$work/site.yaml"
code=$(curl -s -m 30 -b "$work/cookies" -H 'X-Requested-With: ringbox' -o "$work/import.json" -w '%{http_code}' \
  -F "site=@$work/site.yaml" "$web/api/v1/site/import") || fail "site import: no answer"
[ "$code" = 200 ] || fail "POST /api/v1/site/import answered $code: $(cat "$work/import.json")"
echo "image-test: site imported through the web API (trunk to the host, inbound and outbound routes)"
# The SIP side picks the new site up on its next configuration poll (1 s).
sleep 2

# The call: SIPp on the host calls the box's DID as the carrier; the box
# routes it out through its trunk to the SIPp far end on the host, which
# echoes the audio. The caller plays 4 s of speech; what the box relays
# back from the far end queues on the caller's media socket, which SIPp
# does not read, and /proc/net/udp shows it (queued bytes, and drops once
# the socket's buffer is full).
(cd "$work" && exec sipp -sf "$OLDPWD/$here/uas_echo.xml" -set host 10.0.2.2 -i 127.0.0.1 -p "$uas_port" \
  -mi 127.0.0.1 -mp "$uas_media" -rtp_echo -bg -nostdin -trace_err >"$work/uas.out" 2>&1) || true
# -bg: SIPp prints its PID and leaves (with a status that says nothing).
uas_pid=$(sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "$work/uas.out")
[ -n "$uas_pid" ] || fail "SIPp far end did not start: $(cat "$work/uas.out")"
sipp_pids+=("$uas_pid")
call_start=$(date +%s.%N)
if [ -n "${IMAGE_TEST_PCAP:-}" ]; then
  tcpdump -i lo -w "$work/call.pcap" udp >/dev/null 2>&1 &
  sipp_pids+=($!)
  sleep 1
fi
(cd "$work" && exec timeout -k 5 40 sipp "127.0.0.1:$sip_port" -sf "$OLDPWD/$here/uac_pcap.xml" -s +15551230000 \
  -i 127.0.0.1 -p "$uac_port" -mi 127.0.0.1 -mp "$uac_media" -m 1 -nostdin -trace_err -trace_msg >"$work/uac.out" 2>&1) &
uac=$!
hexport=$(printf '%04X' "$uac_media")
max_q=0 max_drops=0
while kill -0 $uac 2>/dev/null; do
  # local address, remote, state, tx:rx queue, ..., drops (the last field).
  read -r q drops < <(awk -v p=":$hexport" '$2 ~ p"$" {split($5, a, ":"); print a[2], $NF; exit}' /proc/net/udp) || true
  q=$((16#${q:-0}))
  [ "$q" -gt "$max_q" ] && max_q=$q
  [ "${drops:-0}" -gt "$max_drops" ] && max_drops=$drops
  sleep 0.2
done
wait $uac && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "the SIPp call through the box failed (exit $rc): $(cat "$work/uac.out"; cat "$work"/*_errors.log 2>/dev/null)"
# One 30 ms A-law packet queues as about 1 KB (its socket buffer); 16 KB is
# half a second of the 4 s played.
if [ "$max_q" -lt 16384 ] && [ "$max_drops" -eq 0 ]; then
  say ''
  say 'wget -qO- http://127.0.0.1/metrics | grep -E "^ringbox_(media|rtp)"'
  sleep 2
  fail "the caller got no audio back through the box (its media socket queued $max_q bytes, dropped $max_drops)"
fi
echo "image-test: SIPp call host -> box -> trunk -> SIPp far end on the host: answered, $(since "$call_start") s; audio relayed back to the caller: ${max_q} bytes queued, ${max_drops} dropped on its full socket"

say 'printf "MODE=static\nADDRESS=10.0.2.15/24\nGATEWAY=10.0.2.2\nDNS=10.0.2.3\n" >/data/network.conf; echo server pool.ntp.org >/data/ntp.conf; sync; reboot'
power_off_wait 60
boot B
grep -qa 'network: eth0 static 10.0.2.15/24' "$con" || fail "the static network in /data/network.conf was not used"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' "$web/") || fail "web page: no answer after reboot"
[ "$code" = "303 $web/login" ] || fail "after reboot GET / answered $code, not the login (was /data kept?)"
say 'echo "log-check: $(cat /data/log/messages* | grep -c "ringbox started")"'
wait_console 'log-check: [0-9]+'
starts=$(console_value log-check)
[ "$starts" -ge 4 ] || fail "/data/log has $starts ringbox starts, want 4 (two boots, a restart with the NAT flags, a crash)"
grep -qa 'ntp: servers pool.ntp.org' "$con" || fail "the clock service did not start with /data/ntp.conf's server"
say 'echo "ntp-check: $(pidof sntp ntpd)"'
wait_console 'ntp-check: [0-9]+'
echo "image-test: reboot on slot B: static network, admin kept, /data/log holds every start"

# A hung ringbox: stopped, it no longer feeds the watchdog, and qemu's
# i6300esb (its default 30 s timeout) resets the box; -no-reboot makes
# qemu exit on that reset, and the next boot is the box coming back.
grep -qa 'watchdog /dev/watchdog' "$con" || fail "S60ringbox did not start ringbox with /dev/watchdog"
say 'kill -STOP $(pidof ringbox); echo "stopped: $(pidof ringbox)"'
stopped=$(date +%s.%N)
wait_console 'stopped: [0-9]+'
power_off_wait 60
reset_s=$(since "$stopped")
grep -q '"event": *"WATCHDOG"' "$work/qmp-B.log" && grep -q '"action": *"reset"' "$work/qmp-B.log" ||
  fail "qemu ended $reset_s s after ringbox was stopped, without a watchdog reset (monitor: $(cat "$work/qmp-B.log"))"
grep -qa 'reboot: Restarting' "$con" && fail "the box rebooted cleanly instead of by the watchdog"
# The i6300esb's timeout is 30 s (its driver's default); the rest is the
# console's and qemu's slack.
awk -v t="$reset_s" 'BEGIN{exit !(t < 25 || t > 45)}' && fail "the watchdog reset came $reset_s s after ringbox was stopped, want its 30 s timeout"
echo "image-test: ringbox stopped (SIGSTOP): the watchdog reset the box after $reset_s s (qemu: WATCHDOG action reset)"

reset_at=$stopped
boot uefi
uefi_sip=$sip_s
back_s=$(since "$reset_at")
code=$(curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' "$web/") || fail "web page: no answer after the UEFI boot"
[ "$code" = "303 $web/login" ] || fail "after the UEFI boot GET / answered $code, not the login"
echo "image-test: the box came back after the watchdog reset (UEFI firmware, systemd-boot, slot A): SIP 200 $back_s s after ringbox hung"
total=$(since "$test_start")
# The budget CI gives this test (docs/firmware.md, "Boot test").
awk -v t="$total" 'BEGIN{exit !(t > 180)}' && echo "image-test: WARNING: $total s, over the 3 minute budget (a loaded host?)" >&2
echo "image-test: PASS in $total s; first boot: kernel to /init ${first_kernel:-?} s, ringbox started at ${first_init:-?} s uptime, ringbox start-up $first_rb s, power-on to SIP 200 $first_sip s (UEFI disk boot: $uefi_sip s)"

#!/usr/bin/env bash
# Relayed-RTP benchmark: CPU time per relayed packet of the real
# `ringbox serve` next to rtpengine (userspace) behind Kamailio, on the same
# machine, in the same run, under the same load.
#
#   ringbox:   SIPp UAC 127.0.0.2 (trunk "carrier") -> ringbox 127.0.0.1
#              -> trunk "farend" -> SIPp UAS 127.0.0.3 (-rtp_echo)
#              RTP: caller <-> ringbox <-> far end (anchored, two streams)
#   rtpengine: SIPp UAC 127.0.0.2 -> kamailio 127.0.0.1 -> SIPp UAS 127.0.0.3
#              RTP: caller <-> rtpengine 127.0.0.1 <-> far end
#
# Every call plays SIPp's g711a.pcap (7.05 s of A-law, 236 packets of 30 ms)
# toward the server, which relays it to the far end, which echoes it back
# through the server: 472 relayed packets per call. A pass starts
# BENCH_RTP_CALLS calls at BENCH_RTP_RATE calls/s; both targets run side by
# side and their passes alternate, BENCH_RTP_ROUNDS each, so other work on
# a shared machine falls on both. The figure is the relay process's
# utime+stime (/proc/PID/stat, all threads) over the packets it relayed
# (ringbox: ringbox_media_packets_out_total from /metrics; rtpengine:
# relayedpackets_user from its NG "statistics"). A second pass with the
# same calls but no RTP measures the signalling's share (ringbox does SIP
# itself, rtpengine only answers Kamailio's NG commands), so the report
# also gives the cost of the media alone. The report gives the median
# over the rounds and the ratio of each round's pair.
#
# Pcap replay needs root (a raw socket). As root the script runs the
# measurement inside a private network namespace (unshare -n), so no other
# program's ports or traffic mix in; BENCH_RTP_NETNS=0 runs it on the
# host's loopback instead.
#
# Exit status: 0 when the measurement ran (whatever it found), 1 when a tool
# is missing or the script is not root, 2 on any other set-up error.
# Method and figures: docs/benchmarks.md.
#
# Settings (environment):
#   BENCH_RTP_RATE=20            calls/s
#   BENCH_RTP_CALLS=200          calls per pass
#   BENCH_RTP_ROUNDS=3           media passes per target, alternating
#   BENCH_RTP_TARGETS="ringbox rtpengine"
#   BENCH_RTP_SIGNALLING=1       0: skip the pass without RTP
#   BENCH_RTP_PROFILE=0          1: one more media pass per target under
#                                perf stat (context switches, system calls
#                                by kind, per relayed packet) and perf record;
#                                files in BENCH_OUT
#   BENCH_RTP_NETNS=1            0: stay in the current network namespace
#   BENCH_OUT=DIR                keep logs and results here (default: a
#                                temporary directory, removed)
#   BENCH_RTP_SIP_PORT=16060 BENCH_RTP_HTTP_PORT=18180 BENCH_RTP_KAM_PORT=16070
#   BENCH_RTP_UAS_PORT=16080 BENCH_RTP_UAC_PORT=16090 BENCH_RTP_NG_PORT=12223
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
SC=$ROOT/scripts/bench

RATE=${BENCH_RTP_RATE:-20}
CALLS=${BENCH_RTP_CALLS:-200}
ROUNDS=${BENCH_RTP_ROUNDS:-3}
TARGETS=${BENCH_RTP_TARGETS:-"ringbox rtpengine"}
SIGNALLING=${BENCH_RTP_SIGNALLING:-1}
PROFILE=${BENCH_RTP_PROFILE:-0}
NETNS=${BENCH_RTP_NETNS:-1}
SIP_PORT=${BENCH_RTP_SIP_PORT:-16060}
HTTP_PORT=${BENCH_RTP_HTTP_PORT:-18180}
KAM_PORT=${BENCH_RTP_KAM_PORT:-16070}
UAS_PORT=${BENCH_RTP_UAS_PORT:-16080}
UAC_PORT=${BENCH_RTP_UAC_PORT:-16090}
NG_PORT=${BENCH_RTP_NG_PORT:-12223}
RB_RTP_PORTS=10000-19999
RE_PORT_MIN=30000
RE_PORT_MAX=32499
# Media ports of SIPp, below 32768 and outside 20000-20499 (see bench-sip.sh).
UAS_MEDIA=26000
UAC_MEDIA=28000
BOX_IP=127.0.0.1
CARRIER_IP=127.0.0.2
FAREND_IP=127.0.0.3
DID=+15551230000
PCAP=/usr/share/sip-tester/g711a.pcap
PCAP_PACKETS=236
KAMAILIO=${KAMAILIO:-/usr/sbin/kamailio}
RTPENGINE=${RTPENGINE:-rtpengine}
GO=${GO:-go}
export GOFLAGS=${GOFLAGS:--mod=mod}

BENCH_NAME=bench-rtp
# shellcheck source=bench/lib.sh
. "$SC/lib.sh"

# --- tools -----------------------------------------------------------------
missing=0
need() { # command, Debian package
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "bench-rtp: $1 not found; install it with: apt-get install $2" >&2
		missing=1
	fi
}
need sipp sip-tester
need python3 python3
need timeout coreutils
need ss iproute2
for t in $TARGETS; do
	case $t in
	ringbox) ;;
	rtpengine)
		need "$KAMAILIO" kamailio
		need "$RTPENGINE" "rtpengine-daemon (not the rtpengine metapackage: it builds a kernel module)"
		;;
	*) die "unknown target $t (BENCH_RTP_TARGETS: ringbox, rtpengine)" ;;
	esac
done
if [ "$PROFILE" = 1 ]; then
	need perf linux-perf
fi
[ -r "$PCAP" ] || { echo "bench-rtp: $PCAP not found; install it with: apt-get install sip-tester" >&2; missing=1; }
[ "$missing" = 0 ] || exit 1
if [ "$(id -u)" != 0 ]; then
	echo "bench-rtp: SIPp replays the RTP from a pcap through a raw socket, which needs root; run as root" >&2
	exit 1
fi
for v in RATE CALLS ROUNDS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v=${!v}: want a positive integer"
done

# --- build, then a private network namespace ---------------------------------
if [ -z "${BENCH_RTP_IN_NETNS:-}" ]; then
	if [[ " $TARGETS " == *" ringbox "* ]]; then
		command -v "$GO" >/dev/null 2>&1 || die "go not found (run scripts/ensure-go.sh)"
		log "building bin/ringbox"
		"$GO" build -o bin/ringbox ./firmware/cmd/ringbox || die "go build failed"
	fi
	if [ "$NETNS" = 1 ]; then
		command -v unshare >/dev/null 2>&1 || die "unshare not found (util-linux); set BENCH_RTP_NETNS=0 to run on the host's loopback"
		export BENCH_RTP_IN_NETNS=1
		exec unshare -n -- bash -c 'ip link set lo up && exec "$0" "$@"' "$ROOT/scripts/bench-rtp.sh" "$@"
	fi
fi

# --- scratch directory and clean-up -----------------------------------------
bench_scratch

for p in "$SIP_PORT" "$KAM_PORT" "$NG_PORT"; do ! port_busy u $BOX_IP "$p" || die "UDP $BOX_IP:$p is in use"; done
! port_busy t $BOX_IP "$HTTP_PORT" || die "TCP $BOX_IP:$HTTP_PORT is in use (set BENCH_RTP_HTTP_PORT)"
! port_busy u $FAREND_IP "$UAS_PORT" || die "UDP $FAREND_IP:$UAS_PORT is in use (set BENCH_RTP_UAS_PORT)"
! port_busy u $CARRIER_IP "$UAC_PORT" || die "UDP $CARRIER_IP:$UAC_PORT is in use (set BENCH_RTP_UAC_PORT)"

# packets_ringbox / packets_rtpengine print the relay's count of packets sent.
packets_ringbox() {
	python3 - "http://$BOX_IP:$HTTP_PORT/metrics" <<'PY'
import sys, urllib.request
for line in urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().splitlines():
    k, _, v = line.partition(' ')
    if k == 'ringbox_media_packets_out_total':
        print(int(float(v)))
        break
else:
    sys.exit('ringbox /metrics has no ringbox_media_packets_out_total')
PY
}
packets_rtpengine() {
	python3 "$OUT/ng.py" "$BOX_IP:$NG_PORT" relayed
}

# A minimal NG (bencode over UDP) client: "ping" and the relayed packets.
cat >"$OUT/ng.py" <<'PY'
import socket, sys, os
def benc(o):
    if isinstance(o, int): return b"i%de" % o
    if isinstance(o, str): o = o.encode()
    if isinstance(o, bytes): return b"%d:%s" % (len(o), o)
    if isinstance(o, dict): return b"d" + b"".join(benc(k) + benc(v) for k, v in sorted(o.items())) + b"e"
    raise TypeError(o)
def bdec(b, i=0):
    c = b[i:i+1]
    if c == b"i":
        j = b.index(b"e", i); return int(b[i+1:j]), j + 1
    if c in (b"l", b"d"):
        i += 1; out = []
        while b[i:i+1] != b"e":
            v, i = bdec(b, i); out.append(v)
        return (out if c == b"l" else dict(zip(out[::2], out[1::2]))), i + 1
    j = b.index(b":", i); n = int(b[i:j]); s = b[j+1:j+1+n]
    return s.decode(errors="replace"), j + 1 + n
host, port = sys.argv[1].rsplit(":", 1)
cmd = {"ping": "ping", "relayed": "statistics"}[sys.argv[2]]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
cookie = os.urandom(6).hex()
s.sendto(cookie.encode() + b" " + benc({"command": cmd}), (host, int(port)))
r = bdec(s.recv(1 << 20).partition(b" ")[2])[0]
if cmd == "ping":
    print(r["result"])
else:
    print(r["statistics"]["totalstatistics"]["relayedpackets_user"])
PY

# The caller without RTP, for the signalling-only pass.
grep -v play_pcap_audio "$SC/rtp_uac_pcap.xml" >"$OUT/rtp_uac_nomedia.xml"

start_uas() { # tag -> sets UAS_PID
	(cd "$OUT" && exec sipp -sf "$SC/rtp_uas_echo.xml" -i $FAREND_IP -p "$UAS_PORT" \
		-mi $FAREND_IP -mp $UAS_MEDIA -rtp_echo -buff_size 4194304 -nostdin \
		-trace_err -error_file "$OUT/uas_$1.err") >"$OUT/uas_$1.out" 2>&1 &
	UAS_PID=$!
	PIDS+=("$UAS_PID")
	wait_udp $FAREND_IP "$UAS_PORT" "$UAS_PID" "SIPp far end"
}

# One SIPp caller run; sets UAC_RC. It runs in the background and is waited
# for, so a signal stops the benchmark at once.
UAC_RC=0
uac() { # dst(ip:port) scenario rate calls tag [extra sipp args]
	local dst=$1 sf=$2 r=$3 m=$4 tag=$5
	shift 5
	(cd "$OUT" && exec timeout -k 5 $((m / r + 60)) sipp "$dst" -sf "$sf" -s "$DID" \
		-i $CARRIER_IP -p "$UAC_PORT" -mi $CARRIER_IP -mp $UAC_MEDIA \
		-r "$r" -m "$m" -l $((r * 12 + 50)) -buff_size 4194304 -nostdin \
		-trace_err -error_file "$OUT/err_$tag.log" -trace_stat -stf "$OUT/stat_$tag.csv" -fd 1 "$@") \
		>"$OUT/uac_$tag.out" 2>&1 &
	local p=$!
	PIDS+=("$p")
	wait "$p"
	UAC_RC=$?
	forget_pid "$p"
	case $UAC_RC in
	254) die "SIPp could not bind its sockets (rc 254); see $OUT/uac_$tag.out" ;;
	255 | 97) die "SIPp failed (rc $UAC_RC); see $OUT/uac_$tag.out" ;;
	esac
}

# preflight name dst lo hi: one call with media; the 200 OK the caller gets
# must carry the relay's address and a port of its range (media anchored).
preflight() {
	local name=$1 dst=$2 lo=$3 hi=$4
	uac "$dst" "$SC/rtp_uac_pcap.xml" 1 1 "${name}_preflight" -trace_msg -message_file "$OUT/preflight_$name.msg"
	[ "$UAC_RC" = 0 ] || die "$name preflight call failed (sipp rc $UAC_RC); see $OUT/err_${name}_preflight.log"
	python3 - "$OUT/preflight_$name.msg" "$BOX_IP" "$lo" "$hi" <<'PY' || die "$name did not anchor media in the preflight call; see $OUT/preflight_$name.msg"
import re, sys
msg, ip, lo, hi = sys.argv[1:]
txt = open(msg, errors='replace').read()
m = re.search(r'SIP/2\.0 200 OK.*?CSeq: 1 INVITE.*?(c=IN IP4 (\S+)).*?m=audio (\d+)', txt, re.S)
sys.exit(0 if m and m.group(2) == ip and int(lo) <= int(m.group(3)) <= int(hi) else 1)
PY
}

RESULTS=$OUT/results.tsv
printf 'target\tpass\tround\tcalls_ok\tcalls_failed\tpackets\texpected\tcpu_s\twall_s\tkam_cpu_s\tudp_drops\tload1\n' >"$RESULTS"

# measure name pass round dst pid [kampid]: one caller run, appends to
# $RESULTS. Pass "media" plays the pcap, "signalling" sends no RTP.
measure() {
	local name=$1 pass=$2 round=$3 dst=$4 pid=$5 kpid=${6:-} sf=$SC/rtp_uac_pcap.xml c0 c1 k0=0 k1=0 p0 p1 d0 d1 s0 s1
	[ "$pass" = media ] || sf=$OUT/rtp_uac_nomedia.xml
	log "$name, $pass, round $round: $CALLS calls at $RATE calls/s"
	p0=$(packets_"$name") || die "cannot read $name's packet count"
	c0=$(cpu_ticks "$pid")
	[ -n "$kpid" ] && k0=$(cpu_ticks "$kpid")
	d0=$(udp_drops)
	s0=$(date +%s.%N)
	uac "$dst" "$sf" "$RATE" "$CALLS" "${name}_${pass}_$round"
	sleep 1 # the echo of the last packets
	s1=$(date +%s.%N)
	c1=$(cpu_ticks "$pid")
	[ -n "$kpid" ] && k1=$(cpu_ticks "$kpid")
	d1=$(udp_drops)
	p1=$(packets_"$name") || die "cannot read $name's packet count"
	local expected=0
	[ "$pass" = media ] && expected=$((CALLS * PCAP_PACKETS * 2))
	python3 - "$RESULTS" "$OUT/stat_${name}_${pass}_$round.csv" "$name" "$pass" "$round" $((p1 - p0)) \
		"$expected" $((c1 - c0)) $((k1 - k0)) "$HZ" "$s0" "$s1" $((d1 - d0)) <<'PY'
import csv, sys
res, stat, name, pass_, rnd, pk, exp, cpu, kcpu, hz, s0, s1, drops = sys.argv[1:]
ok = failed = 0
try:
    rows = list(csv.reader(open(stat), delimiter=';'))
    last = dict(zip(rows[0], rows[-1]))
    ok, failed = int(last['SuccessfulCall(C)']), int(last['FailedCall(C)'])
    failed += max(0, int(last['OutgoingCall(C)']) - ok - failed)
except (OSError, IndexError, KeyError):
    pass
hz = int(hz)
print(f"{name}\t{pass_}\t{rnd}\t{ok}\t{failed}\t{pk}\t{exp}\t{int(cpu)/hz:.2f}\t{float(s1)-float(s0):.1f}\t"
      f"{int(kcpu)/hz:.2f}\t{drops}\t{open('/proc/loadavg').read().split()[0]}", file=open(res, 'a'))
PY
	pause_s 3
}

# profile name pid dst: one more media pass (not in the table: the
# sampling costs the relay some CPU) under perf stat, which counts the
# relay's context switches and system calls by kind, and perf record
# (where the time goes). The counts per relayed packet go to
# $OUT/profile.tsv, the 60 busiest symbols to perf_top_NAME.txt.
PROFILE_EVENTS=task-clock,context-switches,raw_syscalls:sys_enter
for sc in recvfrom recvmmsg recvmsg sendto sendmsg sendmmsg epoll_wait epoll_pwait futex nanosleep clock_nanosleep; do
	PROFILE_EVENTS+=",syscalls:sys_enter_$sc"
done
profile() {
	local name=$1 pid=$2 dst=$3 secs=$((CALLS / RATE + 6)) p q p0 p1
	log "$name, profile: perf stat + perf record over a media pass"
	p0=$(packets_"$name") || die "cannot read $name's packet count"
	perf stat -x';' -e "$PROFILE_EVENTS" -p "$pid" -o "$OUT/perf_stat_$name.txt" -- sleep "$secs" &
	p=$!
	PIDS+=("$p")
	perf record -F 499 -g -p "$pid" -o "$OUT/perf_$name.data" -- sleep "$secs" >/dev/null 2>&1 &
	q=$!
	PIDS+=("$q")
	uac "$dst" "$SC/rtp_uac_pcap.xml" "$RATE" "$CALLS" "${name}_profile"
	wait "$p" "$q"
	forget_pid "$p"
	forget_pid "$q"
	p1=$(packets_"$name") || die "cannot read $name's packet count"
	python3 - "$OUT/perf_stat_$name.txt" "$name" $((p1 - p0)) >>"$OUT/profile.tsv" <<'PY'
import sys
path, name, pk = sys.argv[1], sys.argv[2], int(sys.argv[3])
for line in open(path):
    f = line.strip().split(';')
    if len(f) < 3 or not f[0].replace('.', '').isdigit():
        continue
    v, ev = float(f[0]), f[2].replace('syscalls:sys_enter_', '').replace('raw_syscalls:sys_enter', 'syscalls')
    if v or ev in ('task-clock', 'context-switches', 'syscalls'):
        print(f"{name}\t{pk}\t{ev}\t{v:.0f}\t{v / pk if pk else 0:.3f}")
PY
	perf report -i "$OUT/perf_$name.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
		grep -v '^#' | grep '%' | head -60 >"$OUT/perf_top_$name.txt"
	pause_s 3
}

# start_ringbox and start_rtpengine start a target and set its variables:
# the process whose CPU is measured, its SIP address, Kamailio's pid.
RB_PID="" RE_PID="" KAM_PID=""
start_ringbox() {
	sed -e "s/@CARRIER@/$CARRIER_IP:$UAC_PORT/; s/@FAREND@/$FAREND_IP:$UAS_PORT/" \
		"$SC/rtp_site.yaml.tmpl" >"$OUT/site.yaml"
	mkdir -p "$OUT/ringbox-data"
	bin/ringbox serve --data "$OUT/ringbox-data" --site "$OUT/site.yaml" \
		--sip $BOX_IP:"$SIP_PORT" --http $BOX_IP:"$HTTP_PORT" --rtp-ports "$RB_RTP_PORTS" \
		>"$OUT/ringbox.log" 2>&1 & # the default log level, as shipped
	RB_PID=$!
	PIDS+=("$RB_PID")
	wait_udp $BOX_IP "$SIP_PORT" "$RB_PID" "ringbox serve"
}

start_rtpengine() {
	local run=$OUT/kamailio-run
	mkdir -p "$run"
	# Userspace only (--table=-1: no kernel module), as many worker threads
	# as CPUs (its default), loopback only.
	"$RTPENGINE" --config-file=none --table=-1 --interface=$BOX_IP \
		--listen-ng=$BOX_IP:"$NG_PORT" --port-min=$RE_PORT_MIN --port-max=$RE_PORT_MAX \
		--delete-delay=0 --foreground --log-stderr --log-level=4 >"$OUT/rtpengine.log" 2>&1 &
	RE_PID=$!
	PIDS+=("$RE_PID")
	wait_udp $BOX_IP "$NG_PORT" "$RE_PID" "rtpengine"
	[ "$(python3 "$OUT/ng.py" "$BOX_IP:$NG_PORT" ping 2>/dev/null)" = pong ] || die "rtpengine does not answer NG ping; see $OUT/rtpengine.log"
	sed -e "s/@LISTEN@/$BOX_IP:$KAM_PORT/g; s/@FAREND@/$FAREND_IP:$UAS_PORT/g; s/@CHILDREN@/4/; s#@RUNDIR@#$run#; s/@NG@/$BOX_IP:$NG_PORT/" \
		"$SC/rtp_kamailio.cfg.tmpl" >"$OUT/kamailio.cfg"
	"$KAMAILIO" -f "$OUT/kamailio.cfg" -c >"$OUT/kamailio-check.log" 2>&1 || die "kamailio config check failed; see $OUT/kamailio-check.log"
	"$KAMAILIO" -f "$OUT/kamailio.cfg" -DD -E -Y "$run" -m 512 -M 32 >"$OUT/kamailio.log" 2>&1 &
	KAM_PID=$!
	PIDS+=("$KAM_PID")
	wait_udp $BOX_IP "$KAM_PORT" "$KAM_PID" "kamailio"
}

# pass target pass round: one measured caller run against target.
pass() {
	case $1 in
	ringbox) measure ringbox "$2" "$3" $BOX_IP:"$SIP_PORT" "$RB_PID" ;;
	rtpengine) measure rtpengine "$2" "$3" $BOX_IP:"$KAM_PORT" "$RE_PID" "$KAM_PID" ;;
	esac
}

load1=$(cut -d' ' -f1 /proc/loadavg)
if python3 -c "import sys; sys.exit(float(sys.argv[1]) < 1.0)" "$load1"; then
	echo "bench-rtp: warning: load average is $load1 before the run; other work on this machine will show in the figures" >&2
fi
log "$CALLS calls at $RATE calls/s, $PCAP_PACKETS packets each way per call, $ROUNDS rounds; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
# Both targets run side by side (idle while the other is measured) and
# their passes alternate, so a burst of other work on the machine falls on
# both rather than on one target's figure.
start_uas shared
for t in $TARGETS; do
	start_"$t"
	case $t in
	ringbox) preflight ringbox $BOX_IP:"$SIP_PORT" "${RB_RTP_PORTS%-*}" "${RB_RTP_PORTS#*-}" ;;
	rtpengine) preflight rtpengine $BOX_IP:"$KAM_PORT" $RE_PORT_MIN $RE_PORT_MAX ;;
	esac
done
pause_s 2
for ((r = 1; r <= ROUNDS; r++)); do
	for t in $TARGETS; do pass "$t" media "$r"; done
done
if [ "$SIGNALLING" = 1 ]; then
	for t in $TARGETS; do pass "$t" signalling 1; done
fi
if [ "$PROFILE" = 1 ]; then
	for t in $TARGETS; do
		case $t in
		ringbox) profile ringbox "$RB_PID" $BOX_IP:"$SIP_PORT" ;;
		rtpengine) profile rtpengine "$RE_PID" $BOX_IP:"$KAM_PORT" ;;
		esac
	done
fi
if [ -n "$RB_PID" ] && grep -q 'panic\|fatal error' "$OUT/ringbox.log"; then
	echo "bench-rtp: ringbox log has a panic; see $OUT/ringbox.log" >&2
fi

# --- report ------------------------------------------------------------------
python3 - "$RESULTS" "$RATE" "$CALLS" <<'PY' | tee "$OUT/results.txt"
import csv, statistics, sys
path, rate, calls = sys.argv[1:]
rows = list(csv.DictReader(open(path), delimiter='\t'))
print(f"\nRelayed RTP: {calls} calls at {rate} calls/s, each 236 G.711 packets (30 ms) "
      "to the far end and 236 echoed back; CPU = the relay process's utime+stime; "
      "UDP drops = datagrams dropped for a full receive buffer in the namespace (about half "
      "the packets: the echoes reach the caller's SIPp, which does not read them)\n")
print("| target | pass | round | calls ok | failed | relayed packets | expected | UDP drops | CPU s | kamailio CPU s | us CPU per packet | load |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
us = {}   # target -> [us per packet of each media round]
sig = {}  # target -> signalling CPU s
kam = {}  # target -> [kamailio us per packet]
for r in rows:
    t, p, pk, cpu = r['target'], r['pass'], int(r['packets']), float(r['cpu_s'])
    per = f"{1e6 * cpu / pk:.1f}" if pk and p == 'media' else "—"
    if p == 'media' and pk:
        us.setdefault(t, []).append(1e6 * cpu / pk)
        kam.setdefault(t, []).append(1e6 * float(r['kam_cpu_s']) / pk)
    if p == 'signalling':
        sig[t] = cpu
    k = r['kam_cpu_s'] if t == 'rtpengine' else '—'
    print(f"| {t} | {p} | {r['round']} | {r['calls_ok']} | {r['calls_failed']} | {pk} | {r['expected'] or '—'} | "
          f"{r['udp_drops']} | {cpu:.2f} | {k} | {per} | {r['load1']} |")
print()
med = {t: statistics.median(v) for t, v in us.items()}
alone = {}
for t, v in us.items():
    line = f"{t}: {med[t]:.1f} us CPU per relayed packet (median of {len(v)}: {', '.join(f'{x:.1f}' for x in v)})"
    if t in sig:
        pk = statistics.median(int(r['packets']) for r in rows if r['target'] == t and r['pass'] == 'media')
        alone[t] = med[t] - 1e6 * sig[t] / pk
        line += f"; {alone[t]:.1f} us without the signalling pass's CPU"
    if t == 'rtpengine':
        line += f"; with Kamailio's CPU {med[t] + statistics.median(kam[t]):.1f} us"
    print(line)
if len(med) == 2:
    pairs = [a / b for a, b in zip(us['ringbox'], us['rtpengine'])]
    print(f"ratio ringbox/rtpengine, CPU per relayed packet: {med['ringbox'] / med['rtpengine']:.2f} "
          f"(each round: {', '.join(f'{x:.2f}' for x in pairs)})", end='')
    if len(alone) == 2:
        print(f"; media alone: {alone['ringbox'] / alone['rtpengine']:.2f}")
    else:
        print()
PY
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); SIPp and the relay share them" | tee -a "$OUT/results.txt"
if [ "$PROFILE" = 1 ] && [ -s "$OUT/profile.tsv" ]; then
	python3 - "$OUT/profile.tsv" <<'PY' | tee -a "$OUT/results.txt"
import sys
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])]
names = list(dict.fromkeys(r[0] for r in rows))
per = {(r[0], r[2]): (float(r[3]), float(r[4])) for r in rows}
events = list(dict.fromkeys(r[2] for r in rows))
print("\nUnder perf (an extra media pass each): per relayed packet (task-clock in us)\n")
print("| per packet | " + " | ".join(names) + " |")
print("|---|" + "---:|" * len(names))
for ev in events:
    cells = []
    for n in names:
        tot, pp = per.get((n, ev), (0.0, 0.0))
        cells.append(f"{1000 * pp:.1f}" if ev == 'task-clock' else f"{pp:.2f}")
    print(f"| {ev} | " + " | ".join(cells) + " |")
PY
	echo "profile files in $OUT: perf_stat_*.txt perf_top_*.txt perf_*.data" >&2
fi
exit 0

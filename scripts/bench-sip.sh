#!/usr/bin/env bash
# SIP call-rate benchmark: the real `ringbox serve` against Kamailio on the
# same machine in the same run, driven by the same SIPp caller and far end.
#
#   ringbox:  SIPp UAC 127.0.0.2 (trunk "carrier") -> ringbox 127.0.0.1
#             -> trunk "farend" -> SIPp UAS 127.0.0.3
#             (B2BUA: two dialogs, SDP rewritten, RTP ports for both legs,
#             flow engine, a CDR row per call)
#   kamailio: SIPp UAC 127.0.0.2 -> kamailio 127.0.0.1 (stateful,
#             record-routing proxy, no media) -> SIPp UAS 127.0.0.3
#
#   held:     BENCH_HELD calls to a fresh ringbox, each held BENCH_HELD_SECS
#             with RTP both ways (the caller streams G.711, the far end
#             echoes it), for the memory one established call costs
#
# Each rate runs for BENCH_DURATION seconds with BENCH_HOLD_MS call hold;
# a target's ladder stops after the first rate with failed calls. Prints one
# table for both targets, the ratios, then ringbox's memory (idle, peak during
# the ladder, BENCH_SETTLE seconds after it) and the held-calls figures.
# Exit status: 0 when the measurement ran (whatever it found), 1 when a tool
# is missing and cannot be installed, 2 on any other set-up error.
# Method and figures: docs/benchmarks.md.
#
# Settings (environment):
#   BENCH_RATES="100 200 400 800 1200 1600 2000 2400 3200"  calls/s, in order
#   BENCH_DURATION=15              seconds of new calls per rate
#   BENCH_HOLD_MS=1000             call hold time
#   BENCH_TARGETS="ringbox kamailio held"
#   BENCH_KAM_CHILDREN=4           kamailio UDP workers
#   BENCH_SETTLE=40                seconds after ringbox's ladder before its
#                                  settled memory sample (taken in the
#                                  background while Kamailio runs)
#   BENCH_HELD=1000 BENCH_HELD_SECS=60 BENCH_HELD_RATE=100   the held calls
#   BENCH_PROFILE=1                heap profiles of ringbox (pprof on
#                                  BENCH_DEBUG_PORT=16060): idle, end of the
#                                  ladder, settled, held; `go tool pprof -top`
#                                  of each in the output directory
#   BENCH_OUT=DIR                  keep logs, SIPp CSVs and the results here
#                                  (default: a temporary directory, removed)
#   BENCH_SIP_PORT=15060 BENCH_HTTP_PORT=18080 BENCH_KAM_PORT=15070
#   BENCH_UAS_PORT=15080 BENCH_UAC_PORT=15090 BENCH_RTP_PORTS=10000-19999
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
SC=$ROOT/scripts/bench

RATES=${BENCH_RATES:-"100 200 400 800 1200 1600 2000 2400 3200"}
DUR=${BENCH_DURATION:-15}
HOLD=${BENCH_HOLD_MS:-1000}
TARGETS=${BENCH_TARGETS:-"ringbox kamailio held"}
KAM_CHILDREN=${BENCH_KAM_CHILDREN:-4}
# Ringbox's memory is sampled again this long after its ladder: the heap
# should be back near its idle size by then (docs/benchmarks.md).
SETTLE=${BENCH_SETTLE:-40}
HELD=${BENCH_HELD:-1000}
HELD_SECS=${BENCH_HELD_SECS:-60}
HELD_RATE=${BENCH_HELD_RATE:-100}
PROFILE=${BENCH_PROFILE:-0}
DEBUG_PORT=${BENCH_DEBUG_PORT:-16060}
SIP_PORT=${BENCH_SIP_PORT:-15060}
HTTP_PORT=${BENCH_HTTP_PORT:-18080}
KAM_PORT=${BENCH_KAM_PORT:-15070}
UAS_PORT=${BENCH_UAS_PORT:-15080}
UAC_PORT=${BENCH_UAC_PORT:-15090}
RTP_PORTS=${BENCH_RTP_PORTS:-10000-19999}
# SIPp binds a media socket even when it sends no RTP. Both sit below 32768
# and outside 20000-20499, where other programs on shared test machines
# were seen holding ports.
UAS_MEDIA=26600
UAC_MEDIA=28600
BOX_IP=127.0.0.1
CARRIER_IP=127.0.0.2
FAREND_IP=127.0.0.3
DID=+15551230000
KAMAILIO=${KAMAILIO:-/usr/sbin/kamailio}
GO=${GO:-go}
export GOFLAGS=${GOFLAGS:--mod=mod}

BENCH_NAME=bench-sip
# shellcheck source=bench/lib.sh
. "$SC/lib.sh"

# --- tools -----------------------------------------------------------------
# Missing Debian packages are installed when running as root (as `make
# test` does for its tools); otherwise they are named and the script stops.
missing=()
need() { # command, Debian package
	command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need sipp sip-tester
need "$KAMAILIO" kamailio
need python3 python3
need timeout coreutils
need ss iproute2
need curl curl
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench-sip: missing ${missing[*]}; install with: sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
	echo "bench-sip: installing ${missing[*]}" >&2
	if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq -o DPkg::Lock::Timeout=300 &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null; }; then
		echo "bench-sip: could not install ${missing[*]}; install them with apt-get" >&2
		exit 1
	fi
fi
command -v "$GO" >/dev/null 2>&1 || die "go not found (run scripts/ensure-go.sh)"

for v in DUR HOLD KAM_CHILDREN SETTLE HELD HELD_SECS HELD_RATE; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v=${!v}: want a positive integer"
done
for r in $RATES; do [[ $r =~ ^[1-9][0-9]*$ ]] || die "BENCH_RATES: $r is not a positive integer"; done

# --- scratch directory and clean-up -----------------------------------------
bench_scratch

for p in "$SIP_PORT" "$KAM_PORT"; do ! port_busy u $BOX_IP "$p" || die "UDP $BOX_IP:$p is in use (set BENCH_SIP_PORT/BENCH_KAM_PORT)"; done
! port_busy t $BOX_IP "$HTTP_PORT" || die "TCP $BOX_IP:$HTTP_PORT is in use (set BENCH_HTTP_PORT)"
! port_busy u $FAREND_IP "$UAS_PORT" || die "UDP $FAREND_IP:$UAS_PORT is in use (set BENCH_UAS_PORT)"
! port_busy u $CARRIER_IP "$UAC_PORT" || die "UDP $CARRIER_IP:$UAC_PORT is in use (set BENCH_UAC_PORT)"

rb_metrics() { # ringbox's own view from /metrics (served to loopback callers)
	python3 - "http://$BOX_IP:$HTTP_PORT/metrics" "${1:-text}" <<'PY' 2>/dev/null || echo "metrics unavailable"
import sys, urllib.request
# heap in use: spans holding objects; heap objects: the objects themselves
# (live, plus garbage not yet collected). The GC goal is about twice the
# heap that was live after the last collection.
want = {'go_memstats_heap_inuse_bytes': 'heap in use %.1f MB', 'go_memstats_heap_alloc_bytes': 'heap objects %.1f MB',
        'go_memstats_next_gc_bytes': 'GC goal %.1f MB', 'go_memstats_stack_inuse_bytes': 'stacks %.1f MB',
        'go_goroutines': 'goroutines %d', 'ringbox_media_streams': 'media streams %d',
        'go_memlimit_bytes': 'memory limit %.0f MB'}
got = {}
for line in urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().splitlines():
    k, _, v = line.partition(' ')
    if k in want:
        got[k] = float(v) / (1 << 20 if k.endswith('bytes') else 1)
if sys.argv[2] == 'raw':
    print(' '.join('%s=%s' % (k, got.get(k, 'nan')) for k in want))
else:
    print(', '.join(want[k] % got[k] for k in want if k in got))
PY
}

# heap_profile name: ringbox's heap profile (after a forced collection) and
# its `go tool pprof -top`, when BENCH_PROFILE=1.
heap_profile() {
	[ "$PROFILE" = 1 ] || return 0
	curl -sf -o "$OUT/heap_$1.pb" "http://$BOX_IP:$DEBUG_PORT/debug/pprof/heap?gc=1" || return 0
	"$GO" tool pprof -top -sample_index=inuse_space bin/ringbox "$OUT/heap_$1.pb" >"$OUT/heap_$1.top" 2>/dev/null
}

start_uas() { # name -> sets UAS_PID
	(cd "$OUT" && exec sipp -sf "$SC/uas_answer_fast.xml" -i $FAREND_IP -p "$UAS_PORT" \
		-mi $FAREND_IP -mp $UAS_MEDIA -buff_size 4194304 -nostdin \
		-trace_err -error_file "$OUT/uas_$1.err") >"$OUT/uas_$1.out" 2>&1 &
	UAS_PID=$!
	PIDS+=("$UAS_PID")
	wait_udp $FAREND_IP "$UAS_PORT" "$UAS_PID" "SIPp far end"
}

# One SIPp caller run; sets UAC_RC to SIPp's exit code. It runs in the
# background and is waited for, so a signal stops the benchmark at once.
UAC_RC=0
uac() { # target(ip:port) rate calls tag [extra sipp args]
	local dst=$1 r=$2 m=$3 tag=$4
	shift 4
	(cd "$OUT" && exec timeout -k 5 $((m / r + HOLD / 1000 + 60)) sipp "$dst" -sf "$SC/uac_call.xml" -s "$DID" \
		-i $CARRIER_IP -p "$UAC_PORT" -mi $CARRIER_IP -mp $UAC_MEDIA \
		-r "$r" -m "$m" -l $((r * (HOLD / 1000 + 4) + 100)) -d "$HOLD" -buff_size 4194304 -nostdin \
		-trace_err -error_file "$OUT/err_$tag.log" "$@") >"$OUT/uac_$tag.out" 2>&1 &
	local p=$!
	PIDS+=("$p")
	wait "$p"
	UAC_RC=$?
	forget_pid "$p"
}

# --- the ladder --------------------------------------------------------------
RESULTS=$OUT/results.tsv
printf 'target\trate\tachieved\tok\tfailed\tretrans\trc\tsetup_avg_ms\tsetup_p50_ms\tsetup_p99_ms\tcpu_pct\tcpu_ms_per_call\tload1\tudp_drops\n' >"$RESULTS"

# ladder name dst pid: runs every rate, appends to $RESULTS
ladder() {
	local name=$1 dst=$2 pid=$3 r rc c0 c1 d0 d1 s0 s1 failed
	for r in $RATES; do
		kill -0 "$pid" 2>/dev/null || { echo "bench-sip: $name is no longer running; ladder stopped" >&2; return 1; }
		log "$name: $r calls/s for ${DUR}s"
		rm -f "$OUT/stat_${name}_$r.csv" "$OUT"/*_rtt.csv
		c0=$(cpu_ticks "$pid")
		d0=$(udp_drops)
		s0=$(date +%s.%N)
		uac "$dst" "$r" $((r * DUR)) "${name}_$r" -trace_stat -stf "$OUT/stat_${name}_$r.csv" -fd 1 \
			-trace_rtt -rtt_freq 1
		rc=$UAC_RC
		s1=$(date +%s.%N)
		c1=$(cpu_ticks "$pid")
		d1=$(udp_drops)
		mv "$OUT"/*_rtt.csv "$OUT/rtt_${name}_$r.csv" 2>/dev/null
		case $rc in
		254) die "SIPp could not bind its sockets (rc 254); see $OUT/uac_${name}_$r.out" ;;
		255 | 97) die "SIPp failed (rc $rc); see $OUT/uac_${name}_$r.out" ;;
		esac
		failed=$(python3 - "$RESULTS" "$OUT/stat_${name}_$r.csv" "$OUT/rtt_${name}_$r.csv" "$name" "$r" "$rc" \
			"$c0" "$c1" "$s0" "$s1" "$HZ" $((d1 - d0)) <<'PY'
# Appends one row to the results file, prints the number of failed calls.
import csv, sys
res, stat, rtt, name, rate, rc, c0, c1, s0, s1, hz, drops = sys.argv[1:]
out = open(res, 'a')
try:
    rows = list(csv.reader(open(stat), delimiter=';'))
except OSError:
    rows = []
if len(rows) < 2:
    print(f"{name}\t{rate}\t0\t0\t{rate}\t0\t{rc}\tnan\tnan\tnan\tnan\tnan\t0\t{drops}", file=out)
    print(1)
    sys.exit(0)
h = rows[0]
recs = [dict(zip(h, r)) for r in rows[1:]]
last = recs[-1]
def ms(v):  # SIPp hh:mm:ss:usec
    p = v.split(':')
    return ((int(p[0]) * 60 + int(p[1])) * 60 + int(p[2])) * 1000 + int(p[3]) / 1000
# Achieved rate: median of the 1 s periods in which calls were started,
# without the first and last (partial) ones.
per = sorted(float(r['CallRate(P)']) for r in recs if int(r['OutgoingCall(P)']) > 0)
per = per[1:-1] if len(per) > 3 else per
ach = per[len(per) // 2] if per else 0.0
ok, failed = int(last['SuccessfulCall(C)']), int(last['FailedCall(C)'])
# Calls SIPp never finished (stuck, rc 124) count as failed.
failed += max(0, int(last['OutgoingCall(C)']) - ok - failed)
setups = []
try:
    for line in open(rtt):
        f = line.strip().split(';')
        if len(f) == 3 and f[2] == 'setup':
            setups.append(float(f[1]))
except OSError:
    pass
setups.sort()
q = lambda p: setups[min(len(setups) - 1, int(p * len(setups)))] if setups else float('nan')
wall = float(s1) - float(s0)
cpu_s = (int(c1) - int(c0)) / int(hz)
load = open('/proc/loadavg').read().split()[0]
print(f"{name}\t{rate}\t{ach:.0f}\t{ok}\t{failed}\t{last['Retransmissions(C)']}\t{rc}\t"
      f"{ms(last['ResponseTimesetup(C)']):.1f}\t{q(0.5):.1f}\t{q(0.99):.1f}\t"
      f"{100 * cpu_s / wall:.0f}\t{1000 * cpu_s / ok if ok else float('nan'):.2f}\t{load}\t{drops}", file=out)
print(failed)
PY
		)
		[ "${failed:-1}" = 0 ] || { log "$name: $failed failed calls at $r calls/s; ladder stopped"; return 0; }
		pause_s 5 # let transactions and the far end's timewait drain
	done
}

# start_ringbox name: a fresh ringbox with its own data directory; sets
# RB (its pid). The memory limit is the binary's default (that of the
# board's init script) unless GOMEMLIMIT is set.
RB=""
start_ringbox() {
	local dbg=()
	[ "$PROFILE" = 1 ] && dbg=(--debug-addr $BOX_IP:"$DEBUG_PORT")
	sed -e "s/@CARRIER@/$CARRIER_IP:$UAC_PORT/; s/@FAREND@/$FAREND_IP:$UAS_PORT/" \
		"$SC/site.yaml.tmpl" >"$OUT/site.yaml"
	rm -rf "$OUT/$1-data" # a kept BENCH_OUT must not add up CDRs across runs
	mkdir -p "$OUT/$1-data"
	bin/ringbox serve --data "$OUT/$1-data" --site "$OUT/site.yaml" \
		--sip $BOX_IP:"$SIP_PORT" --http $BOX_IP:"$HTTP_PORT" --rtp-ports "$RTP_PORTS" \
		--log-level warn "${dbg[@]}" >"$OUT/$1.log" 2>&1 &
	RB=$!
	PIDS+=("$RB")
	wait_udp $BOX_IP "$SIP_PORT" "$RB" "ringbox serve"
}

RB_PID="" RB_IDLE="" RB_AFTER="" RB_MEM="" RB_CDR="" SETTLED_PID=""
bench_ringbox() {
	local pid rc rss0 m0 hwm
	start_ringbox ringbox
	pid=$RB
	start_uas ringbox
	# Preflight: one call must succeed and its 200 must carry ringbox's own
	# media address (the call is anchored, not passed through).
	uac $BOX_IP:"$SIP_PORT" 1 1 ringbox_preflight -trace_msg -message_file "$OUT/preflight_ringbox.msg"
	rc=$UAC_RC
	[ "$rc" = 0 ] || die "ringbox preflight call failed (sipp rc $rc); see $OUT/err_ringbox_preflight.log and $OUT/ringbox.log"
	python3 - "$OUT/preflight_ringbox.msg" "$BOX_IP" "$RTP_PORTS" <<'PY' || die "ringbox did not anchor media in the preflight call; see $OUT/preflight_ringbox.msg"
import re, sys
msg, ip, ports = sys.argv[1:]
lo, hi = map(int, ports.split('-'))
txt = open(msg, errors='replace').read()
# the 200 OK received by the caller
m = re.search(r'SIP/2\.0 200 OK.*?CSeq: 1 INVITE.*?(c=IN IP4 (\S+)).*?m=audio (\d+)', txt, re.S)
sys.exit(0 if m and m.group(2) == ip and lo <= int(m.group(3)) <= hi else 1)
PY
	# Idle: after the preflight call and one quiet release (5 s).
	pause_s 6
	rss0=$(rss_kb "$pid")
	m0=$(rb_metrics)
	echo "$(rb_metrics raw)" >"$OUT/mem_idle.txt"
	heap_profile idle
	ladder ringbox $BOX_IP:"$SIP_PORT" "$pid"
	hwm=$(rss_kb "$pid" VmHWM)
	RB_AFTER="RSS $(rss_kb "$pid") kB (peak during the ladder $hwm kB), $(rb_metrics)"
	heap_profile ladder_end
	RB_PID=$pid
	RB_IDLE="RSS $rss0 kB, $m0"
	printf '%s\t%s\n' "$rss0" "$hwm" >"$OUT/rss_idle_peak.txt"
	stop_pid "$UAS_PID"
	forget_pid "$UAS_PID"
	# The settled sample is taken in the background, SETTLE s from now,
	# whatever runs meanwhile (Kamailio's ladder).
	(
		sleep "$SETTLE"
		kill -0 "$pid" 2>/dev/null || exit 0
		echo "RSS $(rss_kb "$pid") kB, $(rb_metrics)" >"$OUT/mem_settled.txt"
		echo "$(rss_kb "$pid") $(rb_metrics raw)" >"$OUT/mem_settled_raw.txt"
		heap_profile settled
	) &
	SETTLED_PID=$!
	PIDS+=("$SETTLED_PID")
	return 0
}

# finish_ringbox waits for the settled sample, counts the CDRs, reports
# 5xx refusals and stops ringbox.
finish_ringbox() {
	local pid=$RB_PID calls cdrs refused
	[ -n "$pid" ] || return 0
	if [ -n "$SETTLED_PID" ]; then
		log "ringbox: waiting for the memory sample ${SETTLE}s after the ladder"
		wait "$SETTLED_PID"
		forget_pid "$SETTLED_PID"
	fi
	RB_MEM="ringbox memory: idle after start: $RB_IDLE
                after the ladder: $RB_AFTER
                ${SETTLE} s after the ladder: $(cat "$OUT/mem_settled.txt" 2>/dev/null || echo "(ringbox exited before the sample; see its log)")"
	RB_MEM+=$'\n'$(python3 - "$OUT/mem_idle.txt" "$OUT/mem_settled_raw.txt" <<'PY' 2>/dev/null
import sys
def kv(path, skip=0):
    f = open(path).read().split()[skip:]
    return {k: float(v) for k, v in (x.split('=') for x in f)}
idle, settled = kv(sys.argv[1]), kv(sys.argv[2], 1)
for k, name in (('go_memstats_heap_inuse_bytes', 'heap in use'), ('go_memstats_heap_alloc_bytes', 'heap objects')):
    print(f"                settled/idle {name}: {settled[k]:.1f} / {idle[k]:.1f} MB = {settled[k] / idle[k]:.2f}")
PY
)
	calls=$(awk -F'\t' '$1=="ringbox"{s+=$4} END{print s+1}' "$RESULTS") # +1: preflight
	cdrs=$(python3 -c 'import sqlite3,sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(c.execute("select count(*) from cdr where answer_ms is not null").fetchone()[0])' \
		"$OUT/ringbox-data/ringbox.db" 2>/dev/null || echo "?")
	refused=$(grep -c 'sip 5xx answered' "$OUT/ringbox.log")
	RB_CDR="ringbox CDRs of answered calls: $cdrs (calls SIPp completed, incl. preflight: $calls); 5xx log lines: $refused"
	stop_pid "$pid"
	forget_pid "$pid"
	if grep -q 'panic\|fatal error' "$OUT/ringbox.log"; then
		echo "bench-sip: ringbox log has a panic; see $OUT/ringbox.log" >&2
	fi
	return 0
}

# bench_held: HELD calls to a fresh ringbox, held HELD_SECS with RTP both
# ways; RSS per established call = (RSS with all calls up - idle RSS) / calls.
HELD_RES=""
bench_held() {
	local pid uac_pid ramp t up rss0 rss best=0 bestm="" bestup=0 u0="" u1=0 t0=0 t1=1 streams ok
	start_ringbox held
	pid=$RB
	# The caller's audio: 1 s of a 440 Hz tone at -20 dBFS, G.711 A-law
	# behind a 44-byte header (SIPp skips it).
	python3 - "$OUT/hold_alaw.wav" <<'PY' || die "cannot write $OUT/hold_alaw.wav"
import math, sys
def alaw(x):  # Sun g711.c linear2alaw
    x >>= 3
    mask = 0xD5 if x >= 0 else 0x55
    if x < 0:
        x = -x - 1
    for seg, end in enumerate((0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)):
        if x <= end:
            a = seg << 4 | ((x >> 1) if seg < 2 else (x >> seg)) & 0xF
            return a ^ mask
    return 0x7F ^ mask
amp = 32767 * 10 ** (-20 / 20)
pcm = bytes(alaw(int(amp * math.sin(2 * math.pi * 440 * n / 8000))) for n in range(8000))
open(sys.argv[1], 'wb').write(b'RIFF' + bytes(40) + pcm)
PY
	(cd "$OUT" && exec sipp -sf "$SC/uas_answer_fast.xml" -i $FAREND_IP -p "$UAS_PORT" \
		-mi $FAREND_IP -mp $UAS_MEDIA -rtp_echo -buff_size 4194304 -nostdin \
		-trace_err -error_file "$OUT/uas_held.err") >"$OUT/uas_held.out" 2>&1 &
	UAS_PID=$!
	PIDS+=("$UAS_PID")
	wait_udp $FAREND_IP "$UAS_PORT" "$UAS_PID" "SIPp far end"
	pause_s 6
	rss0=$(rss_kb "$pid")
	log "held: $HELD calls at $HELD_RATE/s, each held ${HELD_SECS}s with RTP both ways"
	(cd "$OUT" && exec timeout -k 5 $((HELD / HELD_RATE + HELD_SECS + 90)) sipp $BOX_IP:"$SIP_PORT" -sf "$SC/uac_hold_rtp.xml" -s "$DID" \
		-i $CARRIER_IP -p "$UAC_PORT" -mi $CARRIER_IP -mp $UAC_MEDIA \
		-r "$HELD_RATE" -m "$HELD" -l $((HELD + 10)) -d $((HELD_SECS * 1000)) -buff_size 4194304 -nostdin \
		-trace_err -error_file "$OUT/err_held.log" -trace_stat -stf "$OUT/stat_held.csv" -fd 5) >"$OUT/uac_held.out" 2>&1 &
	uac_pid=$!
	PIDS+=("$uac_pid")
	# Sample about every second from when every call should be up until
	# the first ones end; keep the highest RSS among the samples with the
	# most calls up, and the UDP receive rate over the window.
	local start=$SECONDS most=0
	ramp=$((HELD / HELD_RATE + 5))
	while kill -0 "$uac_pid" 2>/dev/null && [ $((SECONDS - start)) -lt $((ramp + HELD_SECS - 8)) ]; do
		sleep 1
		t=$((SECONDS - start))
		[ "$t" -lt "$ramp" ] && continue
		streams=$(rb_metrics raw | sed -n 's/.*ringbox_media_streams=\([0-9]*\).*/\1/p')
		up=$((${streams:-0} / 2))
		rss=$(rss_kb "$pid")
		[ -z "$u0" ] && u0=$(udp_in) && t0=$t
		if [ "$up" -gt "$most" ] || { [ "$up" = "$most" ] && [ "$rss" -gt "$best" ]; }; then
			most=$up best=$rss bestm="$(rb_metrics)" bestup=$up
		fi
		if [ "$t" -ge $((ramp + HELD_SECS / 2)) ] && [ "$PROFILE" = 1 ] && [ ! -f "$OUT/heap_held.pb" ]; then
			heap_profile held
			curl -sf -o "$OUT/goroutines_held.txt" "http://$BOX_IP:$DEBUG_PORT/debug/pprof/goroutine?debug=1"
		fi
		u1=$(udp_in)
		t1=$t
	done
	wait "$uac_pid"
	forget_pid "$uac_pid"
	ok=$(python3 -c 'import csv,sys
r = list(csv.reader(open(sys.argv[1]), delimiter=";"))
l = dict(zip(r[0], r[-1])); print(l["SuccessfulCall(C)"], l["FailedCall(C)"])' "$OUT/stat_held.csv" 2>/dev/null || echo "? ?")
	HELD_RES="held calls: $HELD calls at $HELD_RATE/s held ${HELD_SECS}s with RTP both ways; SIPp ok/failed: $ok
                idle RSS $rss0 kB; highest RSS with calls up $best kB ($bestup calls up: $bestm)
                RSS per established call: $(python3 -c "import sys; up=int(sys.argv[3]); print('%.1f KB' % ((int(sys.argv[2]) - int(sys.argv[1])) / up) if up else '?')" "$rss0" "$best" "${bestup:-0}")
                UDP datagrams received during the hold: $(python3 -c "import sys; a,b,t0,t1=map(int,sys.argv[1:]); print('%d/s' % ((b-a)/max(1,t1-t0)))" "${u0:-0}" "${u1:-0}" "${t0:-0}" "${t1:-1}") (in the benchmark's network namespace when run in one; each call relays 100 packets/s each way)"
	stop_pid "$UAS_PID"
	forget_pid "$UAS_PID"
	stop_pid "$pid"
	forget_pid "$pid"
	return 0
}

bench_kamailio() {
	local run=$OUT/kamailio-run pid rc
	mkdir -p "$run"
	sed -e "s/@LISTEN@/$BOX_IP:$KAM_PORT/g; s/@FAREND@/$FAREND_IP:$UAS_PORT/g; s/@CHILDREN@/$KAM_CHILDREN/; s#@RUNDIR@#$run#" \
		"$SC/kamailio.cfg.tmpl" >"$OUT/kamailio.cfg"
	"$KAMAILIO" -f "$OUT/kamailio.cfg" -c >"$OUT/kamailio-check.log" 2>&1 || die "kamailio config check failed; see $OUT/kamailio-check.log"
	"$KAMAILIO" -f "$OUT/kamailio.cfg" -DD -E -Y "$run" -m 512 -M 32 >"$OUT/kamailio.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_udp $BOX_IP "$KAM_PORT" "$pid" "kamailio"
	start_uas kamailio
	uac $BOX_IP:"$KAM_PORT" 1 1 kamailio_preflight
	rc=$UAC_RC
	[ "$rc" = 0 ] || die "kamailio preflight call failed (sipp rc $rc); see $OUT/err_kamailio_preflight.log"
	sleep 2
	ladder kamailio $BOX_IP:"$KAM_PORT" "$pid"
	stop_pid "$UAS_PID"
	forget_pid "$UAS_PID"
	stop_pid "$pid"
	forget_pid "$pid"
	return 0
}

load1=$(cut -d' ' -f1 /proc/loadavg)
if python3 -c "import sys; sys.exit(float(sys.argv[1]) < 1.0)" "$load1"; then
	echo "bench-sip: warning: load average is $load1 before the run; other work on this machine will show in the figures" >&2
fi
log "rates: $RATES calls/s, ${DUR}s each, hold ${HOLD} ms; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
log "building bin/ringbox"
"$GO" build -o bin/ringbox ./firmware/cmd/ringbox || die "go build failed"
for t in $TARGETS; do
	case $t in
	ringbox) bench_ringbox ;;
	kamailio) bench_kamailio ;;
	held) ;; # after the others: it needs ringbox's ports
	*) die "unknown target $t (BENCH_TARGETS: ringbox, kamailio, held)" ;;
	esac
done
finish_ringbox
for t in $TARGETS; do [ "$t" = held ] && bench_held; done

# --- report ------------------------------------------------------------------
python3 - "$RESULTS" "$HOLD" "$DUR" <<'PY' | tee "$OUT/results.txt"
import csv, sys
path, hold, dur = sys.argv[1:]
rows = list(csv.DictReader(open(path), delimiter='\t'))
by = {}
for r in rows:
    by.setdefault(r['target'], {})[int(r['rate'])] = r
names = [n for n in ('ringbox', 'kamailio') if n in by]
rates = sorted({int(r['rate']) for r in rows})
print(f"\nSIP call rate, {dur} s per rate, {hold} ms hold; CPU = % of one core; "
      "setup = INVITE->200 at the caller (avg / p99 ms); "
      "UDP drops = datagrams the kernel dropped for a full receive buffer (whole machine); "
      "load = 1-min load average after each run (per target)\n")
hdr = "| calls/s |"
sep = "|---:|"
for n in names:
    hdr += f" {n} ok | failed | retrans | UDP drops | setup ms | CPU % |"
    sep += "---:|---:|---:|---:|---:|---:|"
if len(names) == 2:
    hdr += " CPU/call ringbox÷kamailio |"
    sep += "---:|"
hdr += " load |"
sep += "---:|"
print(hdr)
print(sep)
for rate in rates:
    line = f"| {rate} |"
    for n in names:
        r = by[n].get(rate)
        if r is None:
            line += " — | — | — | — | — | — |"
        else:
            line += (f" {r['ok']} | {r['failed']} | {r['retrans']} | {r['udp_drops']} | "
                     f"{float(r['setup_avg_ms']):.1f} / {float(r['setup_p99_ms']):.0f} | {r['cpu_pct']} |")
    if len(names) == 2:
        a, b = by['ringbox'].get(rate), by['kamailio'].get(rate)
        try:
            line += f" {float(a['cpu_ms_per_call']) / float(b['cpu_ms_per_call']):.1f} |"
        except (TypeError, ValueError, ZeroDivisionError):
            line += " — |"
    loads = [by[n][rate]['load1'] for n in names if rate in by[n]]
    line += " " + " / ".join(loads) + " |"
    print(line)
print()
best = {}
for n in names:
    clean = [rate for rate, r in by[n].items() if r['failed'] == '0' and r['rc'] == '0']
    best[n] = max(clean) if clean else 0
    bad = sorted(rate for rate, r in by[n].items() if r['failed'] != '0' or r['rc'] != '0')
    if bad:
        tail = f" (failed calls at {bad[0]})"
    elif best[n] == max(rates):
        tail = " (every rate tried was clean: the limit is higher)"
    else:
        tail = ""
    cpc = [float(r['cpu_ms_per_call']) for r in by[n].values() if r['failed'] == '0']
    if cpc:
        print(f"{n}: highest clean rate {best[n]} calls/s{tail}; CPU per call {min(cpc):.2f}-{max(cpc):.2f} ms")
    else:
        print(f"{n}: no clean rate{tail}")
if len(names) == 2 and best['kamailio']:
    # A target that never failed only shows a lower bound of its limit.
    capped = {n: all(r['failed'] == '0' and r['rc'] == '0' for r in by[n].values()) for n in names}
    ratio = f"{best['ringbox'] / best['kamailio']:.2f}"
    if capped['kamailio'] and not capped['ringbox']:
        ratio = "at most " + ratio + " (kamailio did not fail at any rate tried)"
    elif capped['ringbox'] and not capped['kamailio']:
        ratio = "at least " + ratio + " (ringbox did not fail at any rate tried)"
    elif capped['ringbox']:
        ratio = "unknown: neither failed at any rate tried"
    print(f"ratio highest clean rate ringbox/kamailio: {ratio}")
    both = [rate for rate in rates if rate in by['ringbox'] and rate in by['kamailio']
            and by['ringbox'][rate]['failed'] == '0' and by['kamailio'][rate]['failed'] == '0']
    if both:
        rate = max(both)
        ratio = float(by['ringbox'][rate]['cpu_ms_per_call']) / float(by['kamailio'][rate]['cpu_ms_per_call'])
        print(f"ratio CPU per call ringbox/kamailio at {rate} calls/s: {ratio:.1f}")
PY
[ -n "$RB_MEM" ] && echo "$RB_MEM" | tee -a "$OUT/results.txt"
[ -n "$RB_CDR" ] && echo "$RB_CDR" | tee -a "$OUT/results.txt"
[ -n "$HELD_RES" ] && echo "$HELD_RES" | tee -a "$OUT/results.txt"
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); SIPp and the server share them" | tee -a "$OUT/results.txt"
exit 0

# Shared by scripts/bench-sip.sh and scripts/bench-rtp.sh; sourced, not run.
# BENCH_NAME names the script in messages and in its scratch directory.

die() { echo "$BENCH_NAME: $*" >&2; exit 2; }
log() { echo "== $*" >&2; }

# bench_scratch sets OUT to BENCH_OUT (kept afterwards) or to a temporary
# directory (removed at exit), and stops every process in PIDS at exit.
bench_scratch() {
	if [ -n "${BENCH_OUT:-}" ]; then
		OUT=$BENCH_OUT
		mkdir -p "$OUT" || die "cannot create $OUT"
		KEEP=1
	else
		OUT=$(mktemp -d "/tmp/$BENCH_NAME.XXXXXX") || die "mktemp failed"
		KEEP=0
	fi
	OUT=$(cd "$OUT" && pwd)
	PIDS=()
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

stop_pid() { # pid: TERM, up to 5 s, then KILL (children of kamailio too)
	local p=$1 kids i
	kill -0 "$p" 2>/dev/null || return 0
	kids=$(pgrep -P "$p" 2>/dev/null || true)
	kill -TERM "$p" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" $kids 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

forget_pid() { # drop a stopped pid from PIDS
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	PIDS=()
	if [ "$KEEP" = 0 ]; then rm -rf "$OUT"; else echo "$BENCH_NAME: files kept in $OUT" >&2; fi
}

pause_s() { # sleep that a signal interrupts
	sleep "$1" &
	local p=$!
	PIDS+=("$p")
	wait "$p"
	forget_pid "$p"
}

port_busy() { # proto(u|t) ip port
	ss -Hln"$1" 2>/dev/null | awk -v a="$2:$3" -v b="*:$3" -v c="0.0.0.0:$3" '$4==a||$4==b||$4==c{f=1} END{exit !f}'
}

wait_udp() { # ip port pid what: wait until a UDP socket is bound
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$3" 2>/dev/null || die "$4 exited at start; see $OUT"
		port_busy u "$1" "$2" && return 0
		sleep 0.1
	done
	die "$4 did not bind $1:$2 within 10 s; see $OUT"
}

HZ=$(getconf CLK_TCK)
cpu_ticks() { # utime+stime of a process (all its threads) and its direct children
	local t=0 p
	for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
		[ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12+$13}')))
	done
	echo "$t"
}

udp_stat() { # field of /proc/net/snmp's Udp line (the network namespace's)
	awk -v f="$1" '$1=="Udp:" {if (!h) {for (i = 2; i <= NF; i++) c[$i] = i; h = 1} else print $c[f]}' /proc/net/snmp
}
udp_drops() { udp_stat RcvbufErrors; } # datagrams dropped for a full receive buffer
udp_in() { udp_stat InDatagrams; }      # datagrams received

rss_kb() { awk -v k="${2:-VmRSS}:" '$1==k{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

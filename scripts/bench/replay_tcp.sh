#!/usr/bin/env bash
# A large HTTP download recorded between two kernels in namespaces, then replayed against a
# fresh server namespace, in one run: the replay's throughput as a ratio to the recorded
# transfer through the same fabric (replay must not be the bottleneck). Root.
#   scripts/bench/replay_tcp.sh [MEGABYTES] [BIN]    default 100 MB, BIN the release build
set -euo pipefail
cd "$(dirname "$0")/../.."
megabytes=${1:-100}
bin=${2:-}
if [ -z "$bin" ]; then
    swift build -c release 2>&1 | tail -n 1
    bin=$(swift build -c release --show-bin-path)
fi
work=$(mktemp -d)
suffix=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
pids=()
namespaces=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for ns in "${namespaces[@]}"; do ip netns delete "$ns" 2>/dev/null || true; done
    [ -n "${KEEP_WORK:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
wait_for() { for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no '$2' in $1" >&2; cat "$1" >&2; return 1; }

fabric() {  # OUT ARGS...: a fabric; sets port
    "$bin/switchyardd" --port 0 --log-level warning "${@:2}" >"$work/$1.out" 2>&1 &
    pids+=("$!")
    wait_for "$work/$1.out" 'listening on'
    port=$(sed -n 's/^\[fabric\] listening on .*:\([0-9]*\)$/\1/p' "$work/$1.out")
}

host() {  # NAME ADDRESS: a namespace behind switchyard-tap; sets ns
    ns="sy-b$1$suffix$RANDOM"
    ip netns add "$ns"
    namespaces+=("$ns")
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    "$bin/switchyard-tap" --port "$port" --name "$1" --netns "$ns" --address "$2" >"$work/tap-$1-$ns.out" 2>&1 &
    pids+=("$!")
    wait_for "$work/tap-$1-$ns.out" 'ready'
}

serve() {  # NS: the HTTP server in it
    ip netns exec "$1" python3 scripts/lab/lab_server.py 8080 http >"$work/server-$1.out" 2>&1 &
    pids+=("$!")
    wait_for "$work/server-$1.out" 'ready'
}

bytes=$((megabytes * 1024 * 1024))
fabric record --capture "$work/download.pcap"
record_pid=${pids[-1]}
host web 10.0.0.60/24
serve "$ns"
host cli 10.0.0.61/24
recorded=$(ip netns exec "$ns" curl -s -o /dev/null -w '%{time_total}' "http://10.0.0.60:8080/big/$bytes")
kill "${pids[@]:1}"
kill -TERM "$record_pid"
wait 2>/dev/null || true
pids=()

fabric replay
host web 10.0.0.60/24
serve "$ns"
start=$(date +%s.%N)
${REPLAY_PREFIX:-} "$bin/switchyard-replay" "$work/download.pcap" --port "$port" --timeout 5 -q | tee "$work/replay.out"
end=$(date +%s.%N)
python3 - "$bytes" "$recorded" "$start" "$end" <<'PY'
import sys
size, recorded, start, end = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
replayed = end - start
print("recorded download: %.1f MB/s (%.2f s, curl between two namespaces)" % (size / recorded / 1e6, recorded))
print("replayed download: %.1f MB/s (%.2f s, switchyard-replay from the recording, load and compare included)" % (size / replayed / 1e6, replayed))
print("ratio replay / recorded: %.2f" % (recorded / replayed))
PY

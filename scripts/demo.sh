#!/usr/bin/env bash
# The demo: a fabric, the echo service and pings, then everything shut down again.
# Uses a free port, so it never disturbs a fabric already running on 9999.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "== building"
swift build 2>&1 | tail -n 1
BIN=$(swift build --show-bin-path)

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_for() {  # FILE PATTERN: wait up to 20 s for a line
    for _ in $(seq 200); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "demo: no line matching '$2' in $1" >&2
    cat "$1" >&2
    return 1
}

echo "== switchyardd"
"$BIN/switchyardd" --port 0 >"$WORK/fabric.out" 2>"$WORK/fabric.err" &
FABRIC=$!; PIDS+=("$FABRIC")
wait_for "$WORK/fabric.out" '^\[fabric\] listening on '
cat "$WORK/fabric.out"
PORT=$(sed -n 's/^\[fabric\] listening on .*:\([0-9]*\)$/\1/p' "$WORK/fabric.out")

echo "== switchyard-echo"
"$BIN/switchyard-echo" --port "$PORT" >"$WORK/echo.out" 2>"$WORK/echo.err" &
ECHO=$!; PIDS+=("$ECHO")
wait_for "$WORK/echo.out" '^\[svc_echo\] ready'
cat "$WORK/echo.out"

echo "== switchyard-ping"
"$BIN/switchyard-ping" --port "$PORT"
echo "== PING_MSG='hello switchyard' switchyard-ping --resolve arp --count 3"
PING_MSG="hello switchyard" "$BIN/switchyard-ping" --port "$PORT" --resolve arp --count 3

echo "== shutting down"
kill -TERM "$ECHO" "$FABRIC"
wait "$ECHO" 2>/dev/null || true
wait "$FABRIC" && echo "switchyardd exited 0"
PIDS=()
echo "== demo done"

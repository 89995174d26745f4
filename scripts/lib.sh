# Helpers shared by the demo and capture scripts: build once, start tools in the background,
# wait for their ready lines, and stop everything on exit. Source it; it sets BIN and WORK.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
CONFIG=${BUILD_CONFIG:-debug}
swift build -c "$CONFIG" 2>&1 | tail -n 1
BIN=$(swift build -c "$CONFIG" --show-bin-path)
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
    echo "no line matching '$2' in $1:" >&2
    cat "$1" >&2
    return 1
}

start_fabric() {  # ARGS...: starts switchyardd on a free port; sets FABRIC (pid) and PORT
    "$BIN/switchyardd" --port 0 --log-level warning "$@" >"$WORK/fabric.out" 2>"$WORK/fabric.err" &
    FABRIC=$!
    PIDS+=("$FABRIC")
    wait_for "$WORK/fabric.out" '^\[fabric\] listening on '
    cat "$WORK/fabric.out"
    PORT=$(sed -n 's/^\[fabric\] listening on .*:\([0-9]*\)$/\1/p' "$WORK/fabric.out")
}

start_service() {  # NAME TOOL ARGS...: starts a service against $PORT; sets LAST_PID
    local name=$1 tool=$2
    shift 2
    "$BIN/$tool" --port "$PORT" --log-level warning "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
    wait_for "$WORK/$name.out" 'ready'
    cat "$WORK/$name.out"
}

stop() {  # PID...: SIGTERM and wait; fails if one exits non-zero
    local pid status=0
    for pid in "$@"; do kill -TERM "$pid"; done
    for pid in "$@"; do wait "$pid" || status=$?; done
    local keep=() p
    for p in "${PIDS[@]}"; do
        for pid in "$@"; do [ "$p" = "$pid" ] && continue 2; done
        keep+=("$p")
    done
    PIDS=("${keep[@]+"${keep[@]}"}")
    return "$status"
}

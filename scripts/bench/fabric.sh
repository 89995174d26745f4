# Shared by profile.sh and cpu.sh (source it after parsing arguments): checks for perf and the
# shared bench's load generator, then starts the release switchyardd (BIN if set, else built
# here) on a free port with the given flags. Sets SYBENCH, FABRIC (pid), PORT and WORK (a
# temporary directory); the daemon is stopped and WORK removed on exit. Messages are prefixed
# with $TOOL.
SYBENCH=../shared/bench/sybench.py
[ -f "$SYBENCH" ] || { echo "$TOOL: $SYBENCH is missing (the shared bench drives the load)" >&2; exit 2; }
command -v perf >/dev/null 2>&1 || { echo "$TOOL: perf is missing (apt-get install linux-perf)" >&2; exit 2; }
if [ -z "${BIN:-}" ]; then
    swift build -c release --product switchyardd 2>&1 | tail -n 1 >&2
    BIN=$(swift build -c release --show-bin-path)/switchyardd
fi
WORK=$(mktemp -d)
"$BIN" --port 0 --log-level error "$@" >"$WORK/fabric.out" 2>&1 &
FABRIC=$!
trap 'kill $FABRIC 2>/dev/null || true; wait $FABRIC 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do
    grep -q 'listening on' "$WORK/fabric.out" && break
    sleep 0.1
done
PORT=$(sed -n 's/^\[fabric\] listening on .*:\([0-9]*\)$/\1/p' "$WORK/fabric.out")
[ -n "$PORT" ] || { echo "$TOOL: the fabric did not start:" >&2; cat "$WORK/fabric.out" >&2; exit 2; }

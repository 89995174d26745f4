#!/usr/bin/env bash
# Where the fabric's time goes: starts the release switchyardd (with any extra flags, e.g.
# --capture /tmp/p.pcap or --rules r.rules), drives it with the shared bench's sybench.py
# throughput load, records `perf record -g` of the daemon meanwhile, and prints the top
# symbols (self time) and the split by thread and library.
#
#   scripts/bench/profile.sh [--size 64] [--frames 3000000] [--top 30] [-- SWITCHYARDD FLAGS...]
#
# Needs perf (linux-perf) and ../shared/bench/sybench.py. The recording stays in
# /tmp/switchyard-profile.data for `perf report -i` afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE=64
FRAMES=3000000
TOP=30
while [ $# -gt 0 ]; do
    case "$1" in
        --size) SIZE=$2; shift 2 ;;
        --frames) FRAMES=$2; shift 2 ;;
        --top) TOP=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "profile.sh: unknown argument $1 (flags for switchyardd go after --)" >&2; exit 64 ;;
    esac
done
SYBENCH=../shared/bench/sybench.py
if [ ! -f "$SYBENCH" ]; then
    echo "profile.sh: $SYBENCH is missing (the shared bench drives the load)" >&2
    exit 2
fi
if ! command -v perf >/dev/null 2>&1; then
    echo "profile.sh: perf is missing (apt-get install linux-perf)" >&2
    exit 2
fi
swift build -c release --product switchyardd 2>&1 | tail -n 1
BIN=$(swift build -c release --show-bin-path)
DATA=/tmp/switchyard-profile.data
OUT=$(mktemp)
"$BIN/switchyardd" --port 0 --log-level error "$@" >"$OUT" 2>&1 &
FABRIC=$!
trap 'kill $FABRIC 2>/dev/null || true; rm -f "$OUT"' EXIT
for _ in $(seq 100); do
    grep -q 'listening on' "$OUT" && break
    sleep 0.1
done
PORT=$(sed -n 's/^\[fabric\] listening on .*:\([0-9]*\)$/\1/p' "$OUT")
[ -n "$PORT" ] || { echo "profile.sh: the fabric did not start:" >&2; cat "$OUT" >&2; exit 2; }
perf record -g -o "$DATA" -p "$FABRIC" >/dev/null 2>&1 &
PERF=$!
sleep 0.5
python3 "$SYBENCH" tput --port "$PORT" --size "$SIZE" --frames "$FRAMES"
kill -INT "$PERF"
wait "$PERF" || true
echo "== top $TOP symbols (self time), size $SIZE"
perf report -i "$DATA" --no-children --sort symbol -g none 2>/dev/null | grep -E '^ +[0-9]' | head -n "$TOP" | cut -c1-160
echo "== by thread and library"
perf report -i "$DATA" --no-children --sort comm,dso -g none 2>/dev/null | grep -E '^ +[0-9]' | head -n 12

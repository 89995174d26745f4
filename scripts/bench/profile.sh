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
TOOL=profile.sh
source scripts/bench/fabric.sh
DATA=/tmp/switchyard-profile.data
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

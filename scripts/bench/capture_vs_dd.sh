#!/usr/bin/env bash
# Lossless capture's write rate against what the disk takes from dd, in the same directory and
# the same run: per rep, `dd bs=1M count=2000 conv=fdatasync` (2 GB, synced), then the fabric
# with --capture DIR/... driven by the shared bench at 1500 bytes (compare.py, one rep). Prints
# both rates in MB/s and their ratio; the disk itself moves a lot between runs, so look at
# several reps. Files are removed as it goes.
#
#   scripts/bench/capture_vs_dd.sh [--dir DIR] [--reps 3] [--frames 4000000] [--bin PATH/switchyardd] [-- SWITCHYARDD FLAGS...]
#
# Extra daemon flags go after `--` (e.g. `-- --capture-buffer-mb 256`); the MB/s figure counts
# classic pcap records (16 + 1500 bytes), the default format. Needs ../shared/bench/compare.py;
# without --bin it builds and runs the release daemon.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${TMPDIR:-/tmp}
REPS=3
FRAMES=4000000
BIN=
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) DIR=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        --frames) FRAMES=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "capture_vs_dd.sh: unknown argument $1 (flags for switchyardd go after --)" >&2; exit 64 ;;
    esac
done
COMPARE=../shared/bench/compare.py
[ -f "$COMPARE" ] || { echo "capture_vs_dd.sh: $COMPARE is missing (the shared bench drives the load)" >&2; exit 2; }
[ -d "$DIR" ] && [ -w "$DIR" ] || { echo "capture_vs_dd.sh: cannot write in $DIR" >&2; exit 2; }
if [ -z "$BIN" ]; then
    swift build -c release --product switchyardd 2>&1 | tail -n 1 >&2
    BIN=$(swift build -c release --show-bin-path)/switchyardd
fi
WORK=$(mktemp -d "$DIR/capture-vs-dd.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
RECORD=1516 # a 1500-byte frame's pcap record: 16 bytes of header
for rep in $(seq "$REPS"); do
    dd_line=$(dd if=/dev/zero of="$WORK/dd.tmp" bs=1M count=2000 conv=fdatasync 2>&1 | tail -n 1)
    rm -f "$WORK/dd.tmp"
    dd_bytes=$(echo "$dd_line" | awk '{print $1}')
    dd_seconds=$(echo "$dd_line" | sed -n 's/.*copied, \([0-9.]*\) s.*/\1/p')
    fps=$(python3 "$COMPARE" --fabric "$BIN --port {port} --log-level error --capture $WORK/capture.pcap $*" \
        --sizes 1500 --frames "$FRAMES" --reps 1 2>&1 |
        sed -n 's/.*"fps": \([0-9]*\), "fabric": "fabric".*/\1/p' | tail -n 1)
    rm -f "$WORK"/capture*
    [ -n "$fps" ] || { echo "capture_vs_dd.sh: the capture run printed no rate" >&2; exit 1; }
    python3 - "$rep" "$dd_bytes" "$dd_seconds" "$fps" "$RECORD" <<'PY'
import sys
rep, dd_bytes, dd_seconds, fps, record = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
dd = dd_bytes / dd_seconds / 1e6
capture = fps * record / 1e6
print(f"rep={rep} dd_MBps={dd:.0f} capture_MBps={capture:.0f} ratio={capture / dd:.2f}")
PY
done

#!/usr/bin/env bash
# The fabric's CPU time per switched frame: starts switchyardd (with any extra flags), drives it
# with the shared bench's sybench.py throughput load and reads the daemon's task-clock with
# `perf stat`: what the daemon spent per frame, whatever the load generator got of the CPUs. It
# drifts too on a shared 2-core machine (the same binary measured 84–158 ns at 64 bytes over an
# hour), so compare two builds by alternating them over several runs.
#
#   scripts/bench/cpu.sh [--size 64] [--frames 5000000] [--rtt COUNT] [--bin PATH/switchyardd] [-- SWITCHYARDD FLAGS...]
#
# Prints `size=64 frames=5000000 cpu_ms=735 ns_per_frame=147 fps=6758164`. With --rtt, drives
# COUNT of sybench.py's round trips instead (compare.py --rtt's load: a client and a reflector,
# two hops through the fabric each) and prints the daemon's CPU per hop, split into user and
# system time from /proc (10 ms ticks: use 20000 or more): `rtt count=20000 p50_us=81.2
# cpu_us_per_hop=27.9 user_us_per_hop=7.1 sys_us_per_hop=20.6`. Needs perf and
# ../shared/bench/sybench.py; without --bin it builds and runs the release daemon.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE=64
FRAMES=5000000
BIN=
RTT=
while [ $# -gt 0 ]; do
    case "$1" in
        --size) SIZE=$2; shift 2 ;;
        --frames) FRAMES=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --rtt) RTT=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "cpu.sh: unknown argument $1 (flags for switchyardd go after --)" >&2; exit 64 ;;
    esac
done
TOOL=cpu.sh
source scripts/bench/fabric.sh
perf stat -e task-clock -p "$FABRIC" -o "$WORK/stat" &
PERF=$!
sleep 0.3
if [ -n "$RTT" ]; then
    # utime and stime, fields 14 and 15 of /proc/PID/stat, in clock ticks.
    read -r USER0 SYS0 < <(cut -d' ' -f14,15 "/proc/$FABRIC/stat")
    python3 "$SYBENCH" rtt --port "$PORT" --count "$RTT" >"$WORK/run"
    read -r USER1 SYS1 < <(cut -d' ' -f14,15 "/proc/$FABRIC/stat")
    kill -INT "$PERF"
    wait "$PERF" || true
    python3 - "$WORK/stat" "$WORK/run" "$RTT" "$((USER1 - USER0))" "$((SYS1 - SYS0))" "$(getconf CLK_TCK)" <<'PY'
import json, sys
stat, run = sys.argv[1], sys.argv[2]
count, user, system, tick = (int(x) for x in sys.argv[3:7])
ms = next(float(line.split()[0].replace(",", "")) for line in open(stat) if "task-clock" in line)
hops = 2 * count
us = lambda ticks: ticks * 1e6 / tick / hops
print(f"rtt count={count} p50_us={json.load(open(run))['p50_us']} cpu_us_per_hop={ms * 1e3 / hops:.1f} "
      f"user_us_per_hop={us(user):.1f} sys_us_per_hop={us(system):.1f}")
PY
    exit 0
fi
python3 "$SYBENCH" tput --port "$PORT" --size "$SIZE" --frames "$FRAMES" >"$WORK/run"
kill -INT "$PERF"
wait "$PERF" || true
python3 - "$WORK/stat" "$WORK/run" "$SIZE" "$FRAMES" <<'PY'
import json, sys
stat, run, size, frames = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ms = next(float(line.split()[0].replace(",", "")) for line in open(stat) if "task-clock" in line)
fps = json.load(open(run))["fps"]
print(f"size={size} frames={frames} cpu_ms={ms:.0f} ns_per_frame={ms * 1e6 / frames:.0f} fps={fps}")
PY

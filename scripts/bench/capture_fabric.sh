#!/usr/bin/env bash
# switchyardd with capture on, as one fabric of a compare.py run, so that its reps compare fairly:
#
#   compare.py --fabric "BIN --port {port}" \
#       --also capture="scripts/bench/capture_fabric.sh BIN DIR {port} [SWITCHYARDD FLAGS...]"
#
# Each rep writes a new file, DIR/capture-PORT.pcap (or .pcapng with --capture-format pcapng).
# A fixed path is unfair: reopening it truncates the last rep's file, and ext4 then starts writing
# that file back when it is closed, in the middle of the next fabric's run. Here, once compare.py
# stops the daemon, the file is synced (its write-back happens between runs, charged to nobody)
# and removed. The kernel's write-back CPU is therefore not in the figure; `perf record -a`
# around a long run shows it.
set -uo pipefail
[ $# -ge 3 ] || { echo "capture_fabric.sh: usage: capture_fabric.sh BIN DIR PORT [SWITCHYARDD FLAGS...]" >&2; exit 64; }
BIN=$1 DIR=$2 PORT=$3
shift 3
EXTENSION=pcap
case " $* " in *" --capture-format pcapng "*) EXTENSION=pcapng ;; esac
FILE=$DIR/capture-$PORT.$EXTENSION
"$BIN" --port "$PORT" --log-level error --capture "$FILE" "$@" &
DAEMON=$!
trap 'kill -TERM $DAEMON 2>/dev/null' TERM INT
wait $DAEMON
STATUS=$?
# A signal ends the first wait at once: wait again for the daemon to finish its file.
if kill -0 $DAEMON 2>/dev/null; then
    wait $DAEMON
    STATUS=$?
fi
sync "$FILE" 2>/dev/null
rm -f "$FILE" "$DIR/capture-$PORT.manifest.json"
exit $STATUS

#!/usr/bin/env bash
# Replay benchmarks (release build): records a 10,000-exchange echo session and replays it
# response-gated (exchanges per second), then records a 60 s session (a ping every 100 ms)
# and replays it with --timing recorded (worst send drift from the schedule).
BUILD_CONFIG=release
source "$(dirname "$0")/lib.sh"
EXCHANGES=${EXCHANGES:-10000}

if [ "${ONLY_TIMED:-0}" != 1 ]; then
echo "== recording $EXCHANGES exchanges"
start_fabric --capture "$WORK/many.pcap"
start_service echo switchyard-echo
ECHO=$LAST_PID
"$BIN/switchyard-ping" --port "$PORT" --count "$EXCHANGES" | tail -n 3
stop "$ECHO"
stop "$FABRIC"

echo "== replaying them, response-gated"
start_fabric
start_service echo switchyard-echo
ECHO=$LAST_PID
START=$(date +%s.%N)
"$BIN/switchyard-replay" "$WORK/many.pcap" --port "$PORT" --quiet
END=$(date +%s.%N)
python3 -c "print(f'gated replay: {$EXCHANGES} exchanges in {$END - $START:.3f} s = {$EXCHANGES / ($END - $START):.0f} exchanges/s (whole process, start-up and recording load included)')"
stop "$ECHO"
stop "$FABRIC"
fi

if [ "${SKIP_TIMED:-0}" != 1 ]; then
    echo "== recording 60 s: a ping every 100 ms"
    start_fabric --capture "$WORK/timed.pcap"
    start_service echo switchyard-echo
    ECHO=$LAST_PID
    "$BIN/switchyard-ping" --port "$PORT" --count 600 --interval 0.1 | tail -n 3
    stop "$ECHO"
    stop "$FABRIC"
    echo "== replaying with --timing recorded"
    start_fabric
    start_service echo switchyard-echo
    ECHO=$LAST_PID
    "$BIN/switchyard-replay" "$WORK/timed.pcap" --port "$PORT" --timing recorded
    stop "$ECHO"
    stop "$FABRIC"
fi

#!/usr/bin/env bash
# Regenerates the golden recordings in captures/. Run again, they hold the same frame bytes
# (only the pcap timestamps and the manifests' times change): fresh fabrics allocate the same
# MACs, and the NTP session uses fixed clocks on both sides.
source "$(dirname "$0")/lib.sh"
OUT=captures
CLOCK=fixed:2026-01-01T00:00:00Z

echo "== captures/echo-session.pcap: switchyard-ping --count 3 against switchyard-echo"
start_fabric --capture "$OUT/echo-session.pcap"
start_service echo switchyard-echo
ECHO=$LAST_PID
"$BIN/switchyard-ping" --port "$PORT" --count 3
stop "$ECHO"
stop "$FABRIC"

echo "== captures/ntp-session.pcap: switchyard-ntp against switchyard-ntpd, both --clock $CLOCK"
start_fabric --capture "$OUT/ntp-session.pcap"
start_service ntpd switchyard-ntpd --clock "$CLOCK"
NTPD=$LAST_PID
"$BIN/switchyard-ntp" --port "$PORT" --clock "$CLOCK"
stop "$NTPD"
stop "$FABRIC"

tcpdump -nn -r "$OUT/echo-session.pcap" 2>/dev/null
tcpdump -nn -r "$OUT/ntp-session.pcap" 2>/dev/null

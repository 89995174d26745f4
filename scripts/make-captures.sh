#!/usr/bin/env bash
# Regenerates the golden recordings in captures/. Run again, they hold the same frame bytes
# (only the pcap timestamps and the manifests' times change): fresh fabrics allocate the same
# MACs, and the NTP and DHCP sessions use fixed clocks.
source "$(dirname "$0")/lib.sh"
OUT=captures
CLOCK=fixed:2026-01-01T00:00:00Z
# A name with 40 addresses: its answer does not fit in 512 bytes, so it is truncated (TC).
DNS_ARGS=$(for i in $(seq 1 40); do printf -- '--record big=10.0.1.%d ' "$i"; done)

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

echo "== captures/dhcp-session.pcap: switchyard-dhcp --renew --release against switchyard-dhcpd --clock $CLOCK"
start_fabric --capture "$OUT/dhcp-session.pcap"
start_service dhcpd switchyard-dhcpd --clock "$CLOCK"
DHCPD=$LAST_PID
"$BIN/switchyard-dhcp" --port "$PORT" --renew --release
stop "$DHCPD"
stop "$FABRIC"

echo "== captures/dns-session.pcap: switchyard-dig against switchyard-dns $DNS_ARGS"
start_fabric --capture "$OUT/dns-session.pcap"
# shellcheck disable=SC2086 # word splitting wanted: the service's flags and each query's words
start_service dns switchyard-dns $DNS_ARGS
DNS=$LAST_PID
for query in "echo.switchyard.test" "-x 10.0.0.2" "nope.switchyard.test" "example.com" "echo.switchyard.test AAAA" "big.switchyard.test"; do
    # shellcheck disable=SC2086
    "$BIN/switchyard-dig" --port "$PORT" --short $query
done
stop "$DNS"
stop "$FABRIC"

tcpdump -nn -r "$OUT/echo-session.pcap" 2>/dev/null
tcpdump -nn -r "$OUT/ntp-session.pcap" 2>/dev/null
tcpdump -nn -r "$OUT/dhcp-session.pcap" 2>/dev/null
tcpdump -nn -r "$OUT/dns-session.pcap" 2>/dev/null

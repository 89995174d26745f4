#!/usr/bin/env bash
# The demo: a recording fabric, the echo, NTP, DHCP and DNS services, pings, an NTP query, a
# DHCP lease and a DNS lookup; the recording read back; then the session replayed against fresh services and diffed; last, a
# seeded lossy link.
# Uses free ports, so it never disturbs a fabric already running on 9999.
source "$(dirname "$0")/lib.sh"
CLOCK=fixed:2026-01-01T00:00:00Z

echo "== switchyardd --capture session.pcap"
start_fabric --capture "$WORK/session.pcap"
start_service echo switchyard-echo
ECHO=$LAST_PID
start_service ntpd switchyard-ntpd --clock "$CLOCK"
NTPD=$LAST_PID
start_service dhcpd switchyard-dhcpd --clock "$CLOCK"
DHCPD=$LAST_PID
start_service dns switchyard-dns
DNS=$LAST_PID

echo "== switchyard-ping"
"$BIN/switchyard-ping" --port "$PORT"
echo "== PING_MSG='hello switchyard' switchyard-ping --resolve arp --count 3"
PING_MSG="hello switchyard" "$BIN/switchyard-ping" --port "$PORT" --resolve arp --count 3
echo "== switchyard-ntp --clock $CLOCK"
"$BIN/switchyard-ntp" --port "$PORT" --clock "$CLOCK"
echo "== switchyard-dhcp (a lease from switchyard-dhcpd)"
"$BIN/switchyard-dhcp" --port "$PORT"
echo "== switchyard-dig echo.switchyard.test (switchyard-dns)"
"$BIN/switchyard-dig" --port "$PORT" echo.switchyard.test

echo "== shutting down (the fabric prints its capture summary)"
stop "$ECHO" "$NTPD" "$DHCPD" "$DNS"
stop "$FABRIC"
cat "$WORK/fabric.err"

echo "== tcpdump -nn -e -r session.pcap"
tcpdump -nn -e -r "$WORK/session.pcap" 2>/dev/null

echo "== replaying session.pcap against fresh services"
start_fabric
start_service echo switchyard-echo
ECHO=$LAST_PID
start_service ntpd switchyard-ntpd --clock "$CLOCK"
NTPD=$LAST_PID
start_service dhcpd switchyard-dhcpd --clock "$CLOCK"
DHCPD=$LAST_PID
start_service dns switchyard-dns
DNS=$LAST_PID
"$BIN/switchyard-replay" "$WORK/session.pcap" --port "$PORT"
stop "$ECHO" "$NTPD" "$DHCPD" "$DNS"
stop "$FABRIC"

echo "== a seeded lossy link: switchyardd --rules lossy.rules --seed 42 (to svc_echo loss 30%)"
echo "to svc_echo loss 30%   # a lossy cable into the echo service" > "$WORK/lossy.rules"
start_fabric --rules "$WORK/lossy.rules" --seed 42
start_service echo switchyard-echo
ECHO=$LAST_PID
# The same pings are lost on every run with seed 42; ping exits 1 when any is lost.
"$BIN/switchyard-ping" --port "$PORT" --count 10 --timeout 0.3 2>&1 | tail -n 2 || true
"$BIN/switchyard-ctl" rules --port "$PORT"
stop "$ECHO"
stop "$FABRIC"
echo "== demo done"

#!/usr/bin/env bash
# Records captures/ns-session.pcap: the Linux kernel in a network namespace (behind
# switchyard-tap, endpoint ns1, 10.0.0.50/24) talking to switchyard-echo (nc -u) and to
# switchyard-ntpd --clock fixed:... (ntpdig). Needs root, iproute2, /dev/net/tun, nc and ntpdig.
# The namespace is made here and deleted on every path.
source "$(dirname "$0")/lib.sh"
OUT=captures
CLOCK=fixed:2026-01-01T00:00:00Z
NS="sy-capture-$$"

[ "$(id -u)" -eq 0 ] || { echo "make-namespace-capture.sh: needs root (TAP devices, namespaces)" >&2; exit 2; }
ip netns add "$NS"
trap 'ip netns delete "$NS" 2>/dev/null || true; cleanup' EXIT
# No IPv6 chatter: the session holds the ARP, UDP and NTP exchanges only.
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

echo "== captures/ns-session.pcap: nc -u and ntpdig in namespace $NS"
start_fabric --capture "$OUT/ns-session.pcap"
start_service echo switchyard-echo
ECHO=$LAST_PID
start_service ntpd switchyard-ntpd --clock "$CLOCK"
NTPD=$LAST_PID
"$BIN/switchyard-tap" --port "$PORT" --name ns1 --netns "$NS" --address 10.0.0.50/24 >"$WORK/tap.out" 2>"$WORK/tap.err" &
TAP=$!
PIDS+=("$TAP")
wait_for "$WORK/tap.out" 'ready'
cat "$WORK/tap.out"
echo "hello from a namespace" | ip netns exec "$NS" nc -u -w 1 10.0.0.2 7007
ip netns exec "$NS" ntpdig -t 3 10.0.0.3
stop "$TAP" "$ECHO" "$NTPD"
stop "$FABRIC"
tcpdump -nn -r "$OUT/ns-session.pcap" 2>/dev/null

#!/usr/bin/env bash
# Records captures/tcp-session.pcap: a TCP echo session between two Linux kernels, a server in
# namespace "web" (10.0.0.60, scripts/lab/lab_server.py 7000 echo) and nc in namespace "cli"
# (10.0.0.61), both behind switchyard-tap. Needs root, iproute2, /dev/net/tun, nc and python3.
# The namespaces are made here and deleted on every path.
source "$(dirname "$0")/lib.sh"
OUT=captures
WEB="sy-capture-web-$$" CLI="sy-capture-cli-$$"

[ "$(id -u)" -eq 0 ] || { echo "make-tcp-capture.sh: needs root (TAP devices, namespaces)" >&2; exit 2; }
ip netns add "$WEB"
ip netns add "$CLI"
trap 'ip netns delete "$WEB" 2>/dev/null || true; ip netns delete "$CLI" 2>/dev/null || true; cleanup' EXIT
# No IPv6 chatter: the session holds the ARP and TCP exchanges only.
for ns in "$WEB" "$CLI"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done

echo "== captures/tcp-session.pcap: nc in $CLI to a TCP echo server in $WEB"
start_fabric --capture "$OUT/tcp-session.pcap"
"$BIN/switchyard-tap" --port "$PORT" --name web --netns "$WEB" --address 10.0.0.60/24 >"$WORK/web.out" 2>"$WORK/web.err" &
PIDS+=("$!")
WEB_TAP=$!
"$BIN/switchyard-tap" --port "$PORT" --name cli --netns "$CLI" --address 10.0.0.61/24 >"$WORK/cli.out" 2>"$WORK/cli.err" &
PIDS+=("$!")
CLI_TAP=$!
wait_for "$WORK/web.out" 'ready'
wait_for "$WORK/cli.out" 'ready'
ip netns exec "$WEB" python3 scripts/lab/lab_server.py 7000 echo >"$WORK/server.out" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
wait_for "$WORK/server.out" 'ready'
printf 'hello over tcp\nand a second line\n' | ip netns exec "$CLI" nc -N -w 5 10.0.0.60 7000
stop "$SERVER" "$CLI_TAP" "$WEB_TAP"
stop "$FABRIC"
tcpdump -nn -r "$OUT/tcp-session.pcap" 2>/dev/null

#!/usr/bin/env bash
# TCP between two network namespaces, in one run: iperf3 (one stream) through a veth pair (the
# kernel's floor), through Switchyard with the fabric carrying both TAP devices (switchyard-tap
# --unix: descriptor mode), with that and a lossless pcapng capture, through Switchyard with
# switchyard-tap bridging over TCP (the fallback), and through vde_switch + vde_plug2tap when
# installed (Debian's vde2). Root. Prints Gbit/s per path and MTU, the ratio to veth, and how
# many of the frames the fabric switched during the capture run its file holds (capinfos).
#   scripts/bench/tap_tcp.sh [SECONDS] [BIN]     default 5 s per run, BIN the release build
#   MTUS="1500 9000 65520" chooses the MTUs; ROUNDS=3 how many rounds of veth, capture off
#   and capture on (each figure is the median of the rounds, each ratio the median of theirs).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-5}
bin=${2:-}
if [ -z "$bin" ]; then
    swift build -c release --product switchyardd 2>&1 | tail -n 1
    swift build -c release --product switchyard-tap 2>&1 | tail -n 1
    swift build -c release --product switchyard-stats 2>&1 | tail -n 1
    bin=$(swift build -c release --show-bin-path)
fi
command -v iperf3 >/dev/null || { echo "tap_tcp.sh: iperf3 is not installed" >&2; exit 2; }
mtus=${MTUS:-1500 9000 65520}
rounds=${ROUNDS:-3}
work=$(mktemp -d)
suffix=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
a=sy-ba$suffix b=sy-bb$suffix
pids=()
stop_all() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
    [ -f "$work/iperf.pid" ] && kill "$(cat "$work/iperf.pid")" 2>/dev/null || true
    [ -f "$work/vde.pid" ] && kill "$(cat "$work/vde.pid")" 2>/dev/null || true
    rm -f "$work/iperf.pid" "$work/vde.pid"
}
cleanup() {
    stop_all
    ip netns delete "$a" 2>/dev/null || true
    ip netns delete "$b" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
namespaces() {
    ip netns delete "$a" 2>/dev/null || true
    ip netns delete "$b" 2>/dev/null || true
    ip netns add "$a"
    ip netns add "$b"
    for ns in "$a" "$b"; do
        ip -n "$ns" link set lo up
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
}
# iperf3 from a to b; prints Gbit/s.
measure() {
    ip netns exec "$b" iperf3 -s -1 -D -I "$work/iperf.pid" >/dev/null
    sleep 0.5
    local json
    json=$(ip netns exec "$a" timeout $((seconds + 20)) iperf3 -c 10.77.0.2 -t "$seconds" -J 2>/dev/null || true)
    rm -f "$work/iperf.pid"
    python3 -c 'import json,sys
try: print("%.2f" % (json.loads(sys.stdin.read())["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception: print("0")' <<<"$json"
}
wait_for() { # file, pattern
    for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "tap_tcp.sh: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}
veth() {
    namespaces
    ip link add "va$suffix" netns "$a" type veth peer name "vb$suffix" netns "$b"
    ip -n "$a" addr add 10.77.0.1/24 dev "va$suffix"
    ip -n "$b" addr add 10.77.0.2/24 dev "vb$suffix"
    ip -n "$a" link set "va$suffix" mtu "$1" up
    ip -n "$b" link set "vb$suffix" mtu "$1" up
    measure
}
switchyard() { # mtu, connection (unix|tcp), extra switchyardd flags...
    local mtu=$1 how=$2
    shift 2
    namespaces
    local connect
    if [ "$how" = unix ]; then
        "$bin/switchyardd" --unix "$work/f.sock" --log-level error "$@" >"$work/fabric.log" 2>&1 &
        pids+=($!)
        wait_for "$work/fabric.log" "listening on"
        connect=(--unix "$work/f.sock")
    else
        "$bin/switchyardd" --port 0 --log-level error "$@" >"$work/fabric.log" 2>&1 &
        pids+=($!)
        wait_for "$work/fabric.log" "listening on"
        connect=(--port "$(grep -m 1 "listening on" "$work/fabric.log" | grep -o "[0-9]*$")")
    fi
    "$bin/switchyard-tap" "${connect[@]}" --name a --netns "$a" --address 10.77.0.1/24 --mtu "$mtu" --offloads "$offloads" >"$work/tap-a.log" 2>&1 &
    pids+=($!)
    "$bin/switchyard-tap" "${connect[@]}" --name b --netns "$b" --address 10.77.0.2/24 --mtu "$mtu" --offloads "$offloads" >"$work/tap-b.log" 2>&1 &
    pids+=($!)
    wait_for "$work/tap-a.log" "ready"
    wait_for "$work/tap-b.log" "ready"
    measure
    if [ -e "$work/capture.pcapng" ]; then
        # Every frame in the file: the devices go first (no frame after the count), then the
        # fabric, which closes the file; capinfos reads every block back.
        local fabric=${pids[0]}
        kill "${pids[1]}" "${pids[2]}"
        wait "${pids[1]}" "${pids[2]}" 2>/dev/null || true
        local switched recorded
        switched=$("$bin/switchyard-stats" --unix "$work/f.sock" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["frames_switched"])')
        kill "$fabric"
        wait "$fabric" 2>/dev/null || true
        pids=()
        recorded=$(capinfos -c -M "$work/capture.pcapng" 2>/dev/null | awk '/Number of packets/ {print $NF}')
        echo "${recorded:-?} of $switched" >"$work/capture-check"
    fi
    stop_all
    rm -f "$work"/capture.pcapng*
}
vde() {
    command -v vde_switch >/dev/null && command -v vde_plug2tap >/dev/null || { echo "-"; return; }
    namespaces
    # As a daemon: in the foreground it reads its console from stdin and ends with it.
    vde_switch -s "$work/vde" -d -p "$work/vde.pid" >/dev/null 2>&1
    sleep 0.5
    for side in a b; do
        ip tuntap add dev "vd$side$suffix" mode tap
        vde_plug2tap -s "$work/vde" "vd$side$suffix" >/dev/null 2>&1 &
        pids+=($!)
    done
    sleep 0.5
    ip link set "vda$suffix" netns "$a"
    ip link set "vdb$suffix" netns "$b"
    ip -n "$a" addr add 10.77.0.1/24 dev "vda$suffix"
    ip -n "$b" addr add 10.77.0.2/24 dev "vdb$suffix"
    ip -n "$a" link set "vda$suffix" mtu "$1" up
    ip -n "$b" link set "vdb$suffix" mtu "$1" up
    measure
    stop_all
    ip netns delete "$a"
    ip netns delete "$b"
    ip tuntap del dev "vda$suffix" mode tap 2>/dev/null || true
    ip tuntap del dev "vdb$suffix" mode tap 2>/dev/null || true
}
ratio() { python3 -c "import sys; v=float(sys.argv[2]); print('%.2f' % (float(sys.argv[1]) / v) if v > 0 else '-')" "$1" "$2"; }
median() { python3 -c "import statistics, sys; v=[float(x) for x in sys.argv[1:] if x != '-']; print('%.2f' % statistics.median(v) if v else '-')" "$@"; }
for mtu in $mtus; do
    offloads=on
    # Rounds of veth, Switchyard with capture off, and with capture on: each ratio is the
    # median of the rounds' ratios, since one 5-second run moves by a fifth on a shared machine
    # and the veth floor by a third.
    floors=() offs=() ons=() carried_ratios=() ratios=() checks=()
    for _ in $(seq 1 "$rounds"); do
        floor=$(veth "$mtu")
        off=$(switchyard "$mtu" unix)
        rm -f "$work/capture-check"
        on=$(switchyard "$mtu" unix --capture "$work/capture.pcapng" --capture-format pcapng)
        floors+=("$floor") offs+=("$off") ons+=("$on")
        carried_ratios+=("$(ratio "$off" "$floor")") ratios+=("$(ratio "$on" "$off")")
        checks+=("$(cat "$work/capture-check" 2>/dev/null || echo "?")")
    done
    floor=$(median "${floors[@]}")
    carried=$(median "${offs[@]}")
    captured=$(median "${ons[@]}")
    carried_text="median of $rounds rounds $(median "${carried_ratios[@]}")x (${carried_ratios[*]})"
    capture_text="median of $rounds rounds $(median "${ratios[@]}") (${ratios[*]})"
    check=$(IFS=,; echo "${checks[*]}")
    offloads=off
    plain=$(switchyard "$mtu" unix)
    bridged=$(switchyard "$mtu" tcp)
    vdefigure=$(vde "$mtu")
    echo "mtu=$mtu veth=$floor switchyard=$carried ($carried_text) switchyard+capture=$captured (of no capture: $capture_text; switched frames in the file: $check) offloads-off=$plain ($(ratio "$plain" "$floor")x) bridged=$bridged ($(ratio "$bridged" "$floor")x) vde=$vdefigure ($(ratio "$carried" "$vdefigure")x of vde) Gbit/s"
done

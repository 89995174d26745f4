#!/usr/bin/env bash
# TFTP throughput in one run: a file fetched by a kernel client in a network namespace (behind
# switchyard-tap) from switchyard-tftpd, and the same file from tftpd-hpa running in another
# namespace on the same fabric. Root (namespaces, TAP devices).
#   scripts/bench/tftp.sh [MEGABYTES] [BIN]    default 100 MB, BIN the release build
# Clients: atftp with blksize 1468 and windowsize 16 when installed (Debian's atftp), and curl
# with blksize 1468 (it has no windowsize). Prints MB/s and the ratio to tftpd-hpa.
set -euo pipefail
cd "$(dirname "$0")/../.."
megabytes=${1:-100}
bin=${2:-}
if [ -z "$bin" ]; then
    swift build -c release 2>&1 | tail -n 1
    bin=$(swift build -c release --show-bin-path)
fi
command -v in.tftpd >/dev/null || { echo "tftp.sh: tftpd-hpa (in.tftpd) is not installed" >&2; exit 2; }
work=$(mktemp -d)
suffix=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
client=sy-tc$suffix server=sy-ts$suffix
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns delete "$client" 2>/dev/null || true
    ip netns delete "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/root"
head -c "$((megabytes * 1024 * 1024))" /dev/urandom >"$work/root/file.bin"
ip netns add "$client"
ip netns add "$server"
"$bin/switchyardd" --port 0 --log-level error >"$work/fabric.out" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/fabric.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^\[fabric\] listening on .*:\([0-9]*\)$/\1/p' "$work/fabric.out")
"$bin/switchyard-tftpd" --port "$port" --root "$work/root" --log-level error >"$work/tftpd.out" &
pids+=($!)
"$bin/switchyard-tap" --port "$port" --name client --netns "$client" --address 10.0.0.50/24 --log-level error >"$work/tap1.out" &
pids+=($!)
"$bin/switchyard-tap" --port "$port" --name hpa --netns "$server" --address 10.0.0.60/24 --log-level error >"$work/tap2.out" &
pids+=($!)
for file in tftpd.out tap1.out tap2.out; do
    for _ in $(seq 100); do grep -q ready "$work/$file" 2>/dev/null && break; sleep 0.1; done
done
ip netns exec "$server" in.tftpd --listen --address 10.0.0.60:69 --secure --foreground "$work/root" &
pids+=($!)
sleep 0.5

fetch() {  # CLIENT-TOOL SERVER-IP: seconds for one fetch, the file checked
    local tool=$1 ip=$2 out="$work/out.bin" start end
    rm -f "$out"
    start=$(date +%s.%N)
    case $tool in
        atftp) ip netns exec "$client" atftp --option "blksize 1468" --option "windowsize 16" -g -r file.bin -l "$out" "$ip" >/dev/null 2>&1 ;;
        curl) ip netns exec "$client" curl -sS --max-time 600 --tftp-blksize 1468 -o "$out" "tftp://$ip/file.bin" ;;
    esac
    end=$(date +%s.%N)
    cmp -s "$out" "$work/root/file.bin" || { echo "tftp.sh: $tool from $ip: the file arrived damaged or not at all" >&2; exit 1; }
    awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}

tools=(curl)
command -v atftp >/dev/null && tools=(atftp curl)
for tool in "${tools[@]}"; do
    ours=$(fetch "$tool" 10.0.0.6)
    theirs=$(fetch "$tool" 10.0.0.60)
    awk -v tool="$tool" -v mb="$megabytes" -v ours="$ours" -v theirs="$theirs" \
        'BEGIN { printf "%s: switchyard-tftpd %.1f MB/s, tftpd-hpa %.1f MB/s, ratio %.2f (%d MB)\n", tool, mb / ours, mb / theirs, theirs / ours, mb }'
done

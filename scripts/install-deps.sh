#!/usr/bin/env bash
# Installs what Switchyard needs beyond Swift when it is missing: libpcap (headers and
# pkg-config file), tcpdump and tshark. Debian/Ubuntu; runs apt-get as root or through sudo.
set -euo pipefail

missing=()
pkg-config --exists libpcap 2>/dev/null || missing+=(libpcap-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v tcpdump >/dev/null 2>&1 || missing+=(tcpdump)
command -v tshark >/dev/null 2>&1 || missing+=(tshark)
command -v python3 >/dev/null 2>&1 || missing+=(python3)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "[setup] installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null

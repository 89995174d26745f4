#!/usr/bin/env bash
# Installs what Switchyard needs beyond Swift when it is missing: libpcap (headers and
# pkg-config file), tcpdump and tshark; for the tests with real clients, QEMU (its NICs' iPXE
# ROMs come with it), iproute2, netcat, ntpdig,
# busybox udhcpc, dig and ping, curl and tftp-hpa's client, python3-venv for the Python SDK's tests. Debian/Ubuntu; runs apt-get as root or
# through sudo.
set -euo pipefail

missing=()
pkg-config --exists libpcap 2>/dev/null || missing+=(libpcap-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v tcpdump >/dev/null 2>&1 || missing+=(tcpdump)
command -v tshark >/dev/null 2>&1 || missing+=(tshark)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v nc >/dev/null 2>&1 || missing+=(netcat-openbsd)
command -v ntpdig >/dev/null 2>&1 || missing+=(ntpsec-ntpdig)
command -v udhcpc >/dev/null 2>&1 || missing+=(udhcpc)
command -v dig >/dev/null 2>&1 || missing+=(bind9-dnsutils)
command -v ping >/dev/null 2>&1 || missing+=(iputils-ping)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v tftp >/dev/null 2>&1 || missing+=(tftp-hpa)
# The Python SDK's tests run in a virtual environment (Debian's python3 needs python3-venv).
python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "[setup] installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# Installs what Switchyard needs beyond Swift when it is missing: libpcap (headers and
# pkg-config file), tcpdump and tshark; for the tests with real clients, QEMU (its NICs' iPXE
# ROMs come with it), iproute2, netcat, ntpdig, busybox udhcpc and httpd, dig and ping, curl
# and tftp-hpa's client, scapy (fragment tests), chromium (replay's HTML report), python3-venv
# for the Python SDK's tests, memcached and dnsmasq-base (third-party daemons the replay tests
# run in a namespace; their own services are kept from starting). Debian/Ubuntu; runs apt-get as root or through sudo.
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
# BusyBox's httpd: the real HTTP server whose Date header replay's noise tests meet.
command -v busybox >/dev/null 2>&1 || missing+=(busybox)
command -v dig >/dev/null 2>&1 || missing+=(bind9-dnsutils)
command -v ping >/dev/null 2>&1 || missing+=(iputils-ping)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v tftp >/dev/null 2>&1 || missing+=(tftp-hpa)
command -v memcached >/dev/null 2>&1 || [ -x /usr/bin/memcached ] || missing+=(memcached)
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
# Chromium renders replay's HTML report headless in its test.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# scapy for the system python3: scripts/lab/fragments.py makes hostile IPv4 fragments with it.
[ -d /usr/lib/python3/dist-packages/scapy ] || missing+=(python3-scapy)
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
# Packages install daemons (memcached); none of them may start on this host: the tests run
# their own, in namespaces. policy-rc.d answers "no" to every start while we install.
placed_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    placed_policy=1
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
if [ -n "$placed_policy" ]; then
    $SUDO rm -f /usr/sbin/policy-rc.d
fi
exit "${status:-0}"

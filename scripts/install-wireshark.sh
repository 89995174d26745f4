#!/usr/bin/env bash
# Puts switchyard-extcap (the "switchyard" capture interface) and the protocol v1 dissector
# (wireshark/switchyard.lua) where this machine's Wireshark looks for them, as `tshark -G
# folders` names the folders: the global extcap and Lua plugin folders for root (Debian 12's
# Wireshark 4.0 reads user folders only for other users), the personal ones otherwise.
# Usage: scripts/install-wireshark.sh [--uninstall]. BUILD_CONFIG=release builds for speed;
# EXTCAP_BINARY=PATH installs that binary instead of building (the tests do, mid-run).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tshark >/dev/null 2>&1 || scripts/install-deps.sh
folder() {  # LABEL: the folder `tshark -G folders` lists under LABEL
    tshark -G folders 2>/dev/null | sed -n "s/^$1:[[:space:]]*//p" | head -n 1
}
if [ "$(id -u)" -eq 0 ]; then
    EXTCAP=$(folder "Extcap path")
    LUA=$(folder "Global Lua Plugins")
else
    EXTCAP="$HOME/.local/lib/wireshark/extcap"
    LUA=$(folder "Personal Lua Plugins")
fi
if [ -z "$EXTCAP" ] || [ -z "$LUA" ]; then
    echo "install-wireshark.sh: tshark -G folders names no extcap or Lua plugin folder" >&2
    exit 2
fi
if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$EXTCAP/switchyard-extcap" "$LUA/switchyard.lua"
    echo "removed $EXTCAP/switchyard-extcap and $LUA/switchyard.lua"
    exit 0
fi
BINARY=${EXTCAP_BINARY:-}
if [ -z "$BINARY" ]; then
    CONFIG=${BUILD_CONFIG:-debug}
    swift build -c "$CONFIG" --product switchyard-extcap 2>&1 | tail -n 1
    BINARY="$(swift build -c "$CONFIG" --show-bin-path)/switchyard-extcap"
fi
mkdir -p "$EXTCAP" "$LUA"
# Copied, not linked: a rebuild or a removed checkout does not break Wireshark's interface list.
install -m 0755 "$BINARY" "$EXTCAP/switchyard-extcap"
install -m 0644 wireshark/switchyard.lua "$LUA/switchyard.lua"
echo "installed $EXTCAP/switchyard-extcap and $LUA/switchyard.lua"

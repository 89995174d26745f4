#!/usr/bin/env bash
# Builds everything and runs the whole test suite under a sanitizer (address, thread or
# undefined; default: address then thread), each in its own build folder (.build-SANITIZER).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
SANITIZERS=("$@")
[ ${#SANITIZERS[@]} -gt 0 ] || SANITIZERS=(address thread)
for sanitizer in "${SANITIZERS[@]}"; do
    echo "== $sanitizer sanitizer"
    swift build --build-tests --sanitize="$sanitizer" --scratch-path ".build-$sanitizer" 2>&1 | tail -n 1
    swift test --skip-build --sanitize="$sanitizer" --scratch-path ".build-$sanitizer" 2>&1 | tail -n 3
done

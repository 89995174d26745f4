#!/usr/bin/env bash
# After the test process was killed (a bound in test.sh or test-soak.sh), stops what its tests
# had started and could no longer stop: this build's tools, the reference peer, VMs and
# servers whose files are in a test's temporary directory; then (unless --processes-only) the
# namespaces its tests made (sy-<8 hex digits>).
set -uo pipefail
cd "$(dirname "$0")/.."
# timeout stops swift-test, not the test process under it.
pkill -KILL -f "switchyardPackageTests.xctest" || true
pkill -KILL -f "^$PWD/\.build/[^ ]*/switchyard" || true
pkill -KILL -f "shared/peer/switchyardd.py" || true
pkill -KILL -f "switchyard-test-[0-9A-F-]+/" || true
if [ "${1:-}" != "--processes-only" ]; then
    for ns in $(ip netns list 2>/dev/null | grep -oE '^sy-[0-9a-f]{8}\b' || true); do
        ip netns delete "$ns" || true
    done
fi

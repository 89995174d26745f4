#!/usr/bin/env bash
# The test command: installs missing system packages, builds everything and runs the whole
# suite (unit, process and interoperability tests; the last skip without ../shared/peer).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
# The suite takes about a minute. Rarely (about one run in five on two cores) the whole test
# process stops making progress: every task suspended, no thread of the concurrency pool left,
# nothing of ours on any thread's stack; not yet explained. Such a run is cut off after 10
# minutes and run once more: a failing test is never retried, only a run that hung.
status=0
timeout 600 swift test --skip-build || status=$?
if [ "$status" -eq 124 ]; then
    echo "test.sh: the test run did not finish in 10 minutes; running it once more" >&2
    # timeout stops swift-test, not the test process under it, nor what that process would
    # have cleaned up: its namespaces (NetworkNamespace names them sy-<8 hex digits>).
    pkill -KILL -f "$PWD/.build/.*/switchyardPackageTests.xctest" || true
    sleep 1
    for ns in $(ip netns list 2>/dev/null | grep -oE '^sy-[0-9a-f]{8}\b' || true); do
        ip netns delete "$ns" || true
    done
    status=0
    timeout 600 swift test --skip-build || status=$?
fi
exit "$status"

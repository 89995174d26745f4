#!/usr/bin/env bash
# The test command: installs missing system packages, builds everything and runs the whole
# suite once (unit, process and interoperability tests). Tests whose requirement is missing
# (root, /dev/net/tun, QEMU, tshark, ../shared) are reported as skipped with the reason;
# with CI set they fail instead, since CI installs everything they need.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
# Every suite has a time limit, so a test that waits forever fails with its name. This bound
# is for what no time limit can catch (the test process itself wedged): it is a failure, never
# a retry.
status=0
timeout --signal=KILL 900 swift test --skip-build || status=$?
if [ "$status" -eq 137 ] || [ "$status" -eq 124 ]; then
    echo "test.sh: the test process did not finish within 15 minutes" >&2
    # What the killed process would have stopped: the tools, peers and VMs its tests started
    # (found by their paths), and its namespaces (NetworkNamespace names them sy-<8 hex>).
    scripts/stop-test-children.sh
fi
# The Python SDK and its pytest plugin (python/), in a virtual environment of their own, against
# the daemon and tools just built.
python_status=0
venv=.build/python-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "./python[test]"
SWITCHYARD_BIN="$(swift build --show-bin-path)" timeout --signal=KILL 600 "$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests || python_status=$?
if [ "$status" -eq 0 ]; then
    status=$python_status
fi
exit "$status"

#!/usr/bin/env bash
# The test command: installs missing system packages, builds everything and runs the whole
# suite (unit, process and interoperability tests; the last skip without ../shared/peer).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
# A hung test fails the run in 30 minutes instead of using up CI's 90.
timeout 1800 swift test --skip-build

#!/usr/bin/env bash
# The test command: installs missing system packages, builds everything and runs the whole
# suite (unit, process and interoperability tests; the last skip without ../shared/peer).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build

#!/usr/bin/env bash
# Builds everything and runs the whole test suite under a sanitizer (address, thread or
# undefined; default: address then thread), each in its own build folder (.build-SANITIZER).
# The full test output goes to .build-SANITIZER/test.log; the summary and any sanitizer
# report lines are printed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
SANITIZERS=("$@")
[ ${#SANITIZERS[@]} -gt 0 ] || SANITIZERS=(address thread)
status=0
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
for sanitizer in "${SANITIZERS[@]}"; do
    echo "== $sanitizer sanitizer"
    scratch=".build-$sanitizer"
    swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" 2>&1 | tail -n 1
    SWITCHYARD_SANITIZER="$sanitizer" swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" >"$scratch/test.log" 2>&1 || status=1
    grep -E "Test run with|ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|SUMMARY: " "$scratch/test.log" | sort | uniq -c
done
exit "$status"

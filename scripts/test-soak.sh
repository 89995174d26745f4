#!/usr/bin/env bash
# A soak of the test suite itself: runs it N times (default 30) and reports, per run, its
# status and time, and at the end the hangs and failures. A run that has not finished in
# 10 minutes is a hang: the stacks of every thread of the test process are saved beside its
# log (gdb), and the tests that started but never finished are listed.
#   scripts/test-soak.sh [N] [--hog]    --hog: a busy loop on every core beside the suite
# Run it on an otherwise idle machine: its figures are the suite's own.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
hog=${2:-}
out=${SOAK_DIR:-$(mktemp -d /tmp/switchyard-soak.XXXXXX)}
mkdir -p "$out"
swift build --build-tests 2>&1 | tail -n 1
hogs=()
if [ "$hog" = "--hog" ]; then
    for _ in $(seq "$(nproc)"); do
        ( while :; do :; done ) &
        hogs+=($!)
    done
fi
trap 'for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done' EXIT
hangs=0 failures=0
for run in $(seq "$runs"); do
    log="$out/run-$run.log"
    start=$(date +%s)
    namespaces_before=$(ip netns list 2>/dev/null | grep -oE '^sy-[0-9a-f]{8}\b' || true)
    swift test --skip-build >"$log" 2>&1 &
    pid=$!
    hung=0
    for _ in $(seq 600); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
        hung=1
        hangs=$((hangs + 1))
        xctest=$(pgrep -f 'switchyardPackageTests.xctest' | head -n 1)
        if [ -n "$xctest" ] && command -v gdb >/dev/null; then
            gdb -p "$xctest" -batch -ex 'thread apply all bt' >"$out/run-$run.stacks" 2>&1
        fi
        # Started, and neither passed, failed nor skipped.
        awk '/◇ Test .* started\./ { sub(/.*◇ Test /, ""); sub(/ started\..*/, ""); open[$0] = 1 }
             /[✔✘] Test .* (passed|failed)/ { line = $0; sub(/.*[✔✘] Test /, "", line); sub(/ (passed|failed|recorded).*/, "", line); delete open[line] }
             END { for (name in open) print name }' "$log" >"$out/run-$run.unfinished"
        echo "  unfinished: $(tr '\n' ' ' <"$out/run-$run.unfinished")"
        pkill -KILL -f 'switchyardPackageTests.xctest'
        kill "$pid" 2>/dev/null
        scripts/stop-test-children.sh --processes-only
    fi
    wait "$pid"
    status=$?
    seconds=$(( $(date +%s) - start ))
    result=$(grep -E 'Test run with [0-9]+ tests' "$log" | tail -n 1)
    if [ "$hung" -eq 0 ] && [ "$status" -ne 0 ]; then
        failures=$((failures + 1))
    fi
    echo "run $run: status $status, $seconds s, hung $hung: ${result:-no summary}"
    grep -E '✘ Test .* recorded an issue' "$log" | head -n 5
    # A namespace this run made and did not delete (only after a hang: the test process was killed).
    for ns in $(ip netns list 2>/dev/null | grep -oE '^sy-[0-9a-f]{8}\b' || true); do
        if [ "$hung" -eq 1 ] && ! grep -qx "$ns" <<<"$namespaces_before"; then
            ip netns delete "$ns" 2>/dev/null || true
        fi
    done
done
echo "$runs runs${hog:+ with a CPU hog}: $hangs hung, $failures failed (logs in $out)"
[ "$hangs" -eq 0 ] && [ "$failures" -eq 0 ]

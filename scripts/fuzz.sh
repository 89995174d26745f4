#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/, with AddressSanitizer) and runs each for SECONDS
# (default 60) on its committed seed corpus. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# Targets: FuzzFraming, FuzzFabricCore, FuzzRecording, FuzzRules, FuzzQEMUFraming, FuzzDHCP, FuzzDNS,
# FuzzTransports, FuzzPcapng, FuzzCompare, FuzzReadLoop, FuzzICMP, FuzzTFTP, FuzzReplayFlows, FuzzHost, FuzzStreams. Crashes are saved under
# .build-fuzz/artifacts/TARGET/ and make the script exit non-zero. FUZZ_DETECT_LEAKS=0 turns
# LeakSanitizer's check off (CI's short smoke runs: the toolchain's Foundation has leaks of its
# own that would fail a run; the long runs keep it on).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(FuzzFraming FuzzFabricCore FuzzRecording FuzzRules FuzzQEMUFraming FuzzDHCP FuzzDNS FuzzTransports FuzzPcapng FuzzCompare FuzzReadLoop FuzzICMP FuzzTFTP FuzzReplayFlows FuzzHost FuzzStreams)
SCRATCH="$PWD/.build-fuzz"
# The fabric's own modules are products only when asked (Package.swift, fuzzOnlyProducts).
export SWITCHYARD_FUZZ_PRODUCTS=1
if [ "${FUZZ_DETECT_LEAKS:-1}" = 0 ]; then
    # Also LeakSanitizer's check at exit, not only libFuzzer's per-input one.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
FLAGS=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
mkdir -p "$SCRATCH"
status=0
for target in "${TARGETS[@]}"; do
    echo "== building $target"
    if ! swift build --package-path Fuzz --scratch-path "$SCRATCH" -c debug --product "$target" "${FLAGS[@]}" >"$SCRATCH/$target.build.log" 2>&1; then
        grep -E "error:" "$SCRATCH/$target.build.log" | sort -u | head -n 20
        echo "$target: build failed (log: $SCRATCH/$target.build.log)"
        exit 1
    fi
    BIN=$(swift build --package-path Fuzz --scratch-path "$SCRATCH" -c debug --show-bin-path)
    corpus="$SCRATCH/corpus/$target"
    artifacts="$SCRATCH/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    cp -n Fuzz/Corpus/"$target"/* "$corpus"/ 2>/dev/null || true
    echo "== running $target for $SECONDS_EACH s"
    if ! "$BIN/$target" "$corpus" -max_total_time="$SECONDS_EACH" -detect_leaks="${FUZZ_DETECT_LEAKS:-1}" -artifact_prefix="$artifacts/" -print_final_stats=1 2>"$SCRATCH/$target.log"; then
        status=1
        echo "$target: CRASH, input saved in $artifacts"
        tail -n 30 "$SCRATCH/$target.log"
    fi
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done)" "$SCRATCH/$target.log" || tail -n 3 "$SCRATCH/$target.log"
done
exit "$status"

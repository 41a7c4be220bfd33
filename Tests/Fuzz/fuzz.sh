#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer + AddressSanitizer in .build-fuzz and runs each in turn
# (`make fuzz`; docs/reliability.md, "Fuzzing"). Usage: Tests/Fuzz/fuzz.sh [TARGET...]
#
#   FUZZ_SECONDS  how long each target runs (default 600)
#   FUZZ_RSS_MB   libFuzzer's -rss_limit_mb: a run that grows past it fails (default 2048)
#
# Each target starts from its committed seeds (Tests/Fuzz/corpus/TARGET) plus what earlier runs
# found (.build-fuzz/corpus/TARGET). A crash, an input slower than 10 s, or RSS past the limit
# stops the run with the input in .build-fuzz/artifacts/TARGET/ and a non-zero exit; replay it with
# `.build-fuzz/release/plenum-fuzz-TARGET FILE`, or without the sanitizer build with
# `swift run plenum-fuzz-TARGET FILE`.
set -euo pipefail
cd "$(dirname "$0")/../.."

SWIFT=${SWIFT:-swift}
SECONDS_EACH=${FUZZ_SECONDS:-600}
RSS_MB=${FUZZ_RSS_MB:-2048}
BUILD=.build-fuzz
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(config json channel client-request bacnet websocket)

# The longest input libFuzzer may generate, per target: a client message (the server's default
# max_message_bytes is 64 KiB, but nothing interesting needs more than 16 KiB), a hub.yaml (64
# KiB reaches the one-value limit), a channel path (the limit is 1 KiB; twice that, plus a pattern),
# a BACnet/IP datagram (max APDU 1476 plus headers).
max_len() {
    case "$1" in
        config) echo 65536 ;;
        channel) echo 4096 ;;
        bacnet) echo 1600 ;;
        *) echo 16384 ;;
    esac
}

# -sanitize=fuzzer instruments every module for coverage and links libFuzzer; PLENUM_FUZZ makes
# FuzzDriver hand main to libFuzzer and Package.swift add the @testable client-request target
# (hence -enable-testing). gold fails on these objects, lld links them.
FLAGS=(-c release --build-path "$BUILD"
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DPLENUM_FUZZ -Xswiftc -enable-testing
    -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld)
for target in "${TARGETS[@]}"; do
    PLENUM_FUZZ=1 nice -n 10 "$SWIFT" build "${FLAGS[@]}" --product "plenum-fuzz-$target"
done

summary=()
for target in "${TARGETS[@]}"; do
    mkdir -p "$BUILD/corpus/$target" "$BUILD/artifacts/$target"
    log="$BUILD/$target.log"
    echo "fuzzing $target for $SECONDS_EACH s (log: $log)"
    status=0
    # Swift's own crash backtracer would race libFuzzer's handler; libFuzzer reports crashes.
    SWIFT_BACKTRACE=enable=no nice -n 10 "$BUILD/release/plenum-fuzz-$target" \
        "$BUILD/corpus/$target" "Tests/Fuzz/corpus/$target" \
        -max_total_time="$SECONDS_EACH" -rss_limit_mb="$RSS_MB" -timeout=10 -max_len="$(max_len "$target")" \
        -artifact_prefix="$BUILD/artifacts/$target/" -print_final_stats=1 >"$log" 2>&1 || status=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    peak=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || echo "?")
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || echo "?")
    corpus=$(echo "$last" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*' || echo "?")
    first_rss=$(grep -E '^#[0-9]+.*INITED' "$log" | grep -o 'rss: [0-9]*' | grep -o '[0-9]*' || echo "?")
    line="$target: $runs runs, cov $cov, ft $ft, corpus $corpus, RSS $first_rss MB after seeds, peak $peak MB"
    if [ "$status" != 0 ]; then
        grep -E 'ERROR|SUMMARY|Fatal error|invariant|Test unit written' "$log" | head -20
        echo "FAILED: $line (exit $status); the input is in $BUILD/artifacts/$target/"
        exit 1
    fi
    summary+=("$line, 0 crashes")
done
printf '%s\n' "${summary[@]}"

#!/usr/bin/env bash
# scripts/fuzz.sh — build the libFuzzer targets and fuzz each one for a while.
#
#   scripts/fuzz.sh                 every target, 30 s each (the short CI run)
#   scripts/fuzz.sh -t 600 decoder  one target for 10 minutes
#   scripts/fuzz.sh --replay        replay the seeds and saved crashes only
#
# Targets (Sources/plugworker-fuzz): decoder (TaskMessageDecoder: headers and
# body of a delivery), binder (JSON args/kwargs → C arguments → call → JSON
# result, for the conv.* fixture tasks), signature (TaskSignature and --task
# specs). The fuzz build is separate from the normal one
# (--scratch-path .build-fuzz) and instrumented with -sanitize=fuzzer,address.
#
# Each target starts from Tests/Fuzz/seeds/<target> and grows a corpus in
# .build-fuzz/corpus/<target> (kept between runs, not committed). A crash
# stops that target, leaves its input as .build-fuzz/crashes/<target>/crash-*
# and makes the script exit 1; reproduce it with
#   .build/debug/plugworker-fuzz <target> <crash file>
# (the normal build of the same target replays inputs).

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
pw_find_swift

seconds=30
replay=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        -t) seconds=$2; shift 2 ;;
        --replay) replay=1; shift ;;
        decoder|binder|signature) targets+=("$1"); shift ;;
        *) echo "usage: scripts/fuzz.sh [-t SECONDS] [--replay] [decoder|binder|signature]..." >&2; exit 64 ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(decoder binder signature)

fixtures=.build-fuzz/fixtures
mkdir -p "$fixtures"
chmod 755 .build-fuzz "$fixtures"
make -s -C Tests/Fixtures/Plugins OUT="$PWD/$fixtures" >/dev/null
export PLUGWORKER_FUZZ_FIXTURES="$PWD/$fixtures"

if [ "$replay" = 1 ]; then
    swift build --product plugworker-fuzz >/dev/null
    bin=$(swift build --show-bin-path)/plugworker-fuzz
    for t in "${targets[@]}"; do
        "$bin" "$t" "Tests/Fuzz/seeds/$t" $(ls -d ".build-fuzz/crashes/$t" 2>/dev/null)
    done
    exit 0
fi

pw_say "fuzz: building plugworker-fuzz with -sanitize=fuzzer,address (.build-fuzz)"
swift build --scratch-path .build-fuzz --product plugworker-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld >/dev/null
bin=$(swift build --scratch-path .build-fuzz --show-bin-path)/plugworker-fuzz

status=0
for t in "${targets[@]}"; do
    corpus=.build-fuzz/corpus/$t
    crashes=.build-fuzz/crashes/$t
    mkdir -p "$corpus" "$crashes"
    pw_say "fuzz: $t for ${seconds}s"
    log=.build-fuzz/$t.log
    if PLUGWORKER_FUZZ_TARGET=$t "$bin" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "Tests/Fuzz/seeds/$t" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
        echo "FUZZ $t: ${runs:-?} runs in ${seconds}s, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) inputs, no crash"
    else
        status=1
        echo "FUZZ $t: CRASH — see $log and $crashes/"
        grep -m 20 -E 'ERROR|Fatal error|SUMMARY|crash-' "$log" || tail -20 "$log"
    fi
done
exit $status

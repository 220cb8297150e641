#!/usr/bin/env bash
# Leak check of the task-call path under valgrind.
#
#     scripts/leakcheck.sh                   build, then run the check (exit 0: clean)
#     scripts/leakcheck.sh --self-test       prove the check catches a leak: runs the
#                                            bench with --leak-on-purpose and exits 0
#                                            only if valgrind reports it
#     scripts/leakcheck.sh --leak-on-purpose run the check on the leaking bench
#                                            (must end in FAIL, exit 1)
# Options: --calls N (default 200), --no-build (reuse the current builds).
#
# It builds the example plugins (make -C Plugins), the test fixtures into a
# temporary directory (for libconversions.so), and the debug plugworker-bench,
# then runs
#
#     valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
#         --suppressions=scripts/valgrind.supp \
#         .build/debug/plugworker-bench --leak-loop 200 --plugins Plugins --fixtures $tmp
#
# which makes 200 calls of every allocating path (string/json/bytes arguments
# and results, failures, retries, argument errors; see `plugworker-bench
# --help`). The check fails on any definitely lost block and on any memory
# error (invalid read/write, uninitialised value, bad free). "possibly lost"
# and "still reachable" blocks are the Swift runtime's metadata caches and the
# plugins' registrations, which live as long as the process: not failures.
# scripts/valgrind.supp holds the only suppressions: dynamic-linker false
# positives, nothing in PlugworkerCore or the plugins.
#
# Exit status: 0 clean (or, with --self-test, leak caught), 1 leak or error
# found (or, with --self-test, leak NOT caught), 2 could not run the check.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

calls=200
build=1
mode=check
while [ $# -gt 0 ]; do
    case "$1" in
        --calls) calls=${2:?--calls needs a number}; shift ;;
        --no-build) build=0 ;;
        --self-test) mode=self-test ;;
        --leak-on-purpose) mode=leak-on-purpose ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "leakcheck: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if ! command -v valgrind >/dev/null 2>&1; then
    echo "leakcheck: valgrind is not installed (apt-get install valgrind)" >&2
    echo "LEAKCHECK: NOT RUN (no valgrind)"
    exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/plugworker-leakcheck.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fixtures="$tmp/fixtures"
log="$tmp/valgrind.log"

if [ "$build" = 1 ]; then
    echo "leakcheck: building plugins, fixtures and the debug plugworker-bench"
    if ! make -s -C Plugins >"$tmp/build.log" 2>&1 \
        || ! make -s -C Tests/Fixtures/Plugins OUT="$fixtures" >>"$tmp/build.log" 2>&1 \
        || ! swift build --product plugworker-bench >>"$tmp/build.log" 2>&1; then
        tail -n 40 "$tmp/build.log" >&2
        echo "LEAKCHECK: NOT RUN (build failed)"
        exit 2
    fi
    tail -n 1 "$tmp/build.log" | sed 's/^/  /'
else
    make -s -C Tests/Fixtures/Plugins OUT="$fixtures" >/dev/null
fi
bench="$root/.build/debug/plugworker-bench"
[ -x "$bench" ] || { echo "leakcheck: $bench is missing (run without --no-build)" >&2; echo "LEAKCHECK: NOT RUN (no bench)"; exit 2; }

extra=()
[ "$mode" != check ] && extra=(--leak-on-purpose)

echo "leakcheck: valgrind $bench --leak-loop $calls --plugins Plugins --fixtures $fixtures ${extra[*]:-}"
set +e
valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
    --suppressions="$root/scripts/valgrind.supp" --log-file="$log" \
    "$bench" --leak-loop "$calls" --plugins Plugins --fixtures "$fixtures" ${extra[@]+"${extra[@]}"} \
    >"$tmp/bench.out" 2>"$tmp/bench.err"
status=$?
set -e

tail -n 2 "$tmp/bench.out" | sed 's/^/  bench: /'
sed 's/^/  bench stderr: /' "$tmp/bench.err"

summary() { sed -n "s/^==[0-9]*== *$1: *//p" "$log" | tail -n 1; }
definite=$(summary "definitely lost")
indirect=$(summary "indirectly lost")
possibly=$(summary "possibly lost")
reachable=$(summary "still reachable")
errors=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n 1)
echo "  valgrind: definitely lost: ${definite:-0 bytes (no leaks)}; indirectly lost: ${indirect:-0}; possibly lost: ${possibly:-0}; still reachable: ${reachable:-0}"
echo "  valgrind: ERROR SUMMARY: ${errors:-?} errors (definite leaks count as errors)"

if [ -z "$errors" ]; then
    echo "leakcheck: valgrind did not finish (exit status $status); its log:" >&2
    tail -n 30 "$log" >&2
    echo "LEAKCHECK: NOT RUN (valgrind failed)"
    exit 2
fi

found=0
if [ "$errors" != 0 ]; then
    found=1
elif [ "$status" != 0 ]; then
    # valgrind found nothing, so the status is the bench's own: a wrong outcome.
    echo "leakcheck: plugworker-bench itself failed (exit status $status)" >&2
    echo "LEAKCHECK: NOT RUN (bench failed, status $status)"
    exit 2
fi

if [ "$found" = 1 ]; then
    # Show the first reports: each starts at a line naming the problem.
    echo "  valgrind reports (first 60 lines; full log kept at $root/.build/leakcheck-valgrind.log):"
    cp "$log" "$root/.build/leakcheck-valgrind.log"
    grep -E -A14 '(definitely lost in loss record|Invalid (read|write|free)|uninitialised|Mismatched free|Source and destination overlap|Syscall param)' "$log" \
        | head -n 60 | sed 's/^/    /'
fi

case "$mode" in
    self-test)
        if [ "$found" = 1 ] && [ -n "$definite" ] && [ "${definite%% *}" != 0 ]; then
            echo "LEAKCHECK SELF-TEST: PASS (the deliberate leak was caught: definitely lost $definite)"
            exit 0
        fi
        echo "LEAKCHECK SELF-TEST: FAIL (the deliberate --leak-on-purpose leak was NOT reported)"
        exit 1 ;;
    *)
        if [ "$found" = 1 ]; then
            echo "LEAKCHECK: FAIL ($errors valgrind errors; definitely lost: ${definite:-0})"
            exit 1
        fi
        echo "LEAKCHECK: PASS (no definite leaks, no memory errors in $calls calls of each path)"
        exit 0 ;;
esac

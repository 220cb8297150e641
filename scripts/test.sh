#!/usr/bin/env bash
# scripts/test.sh — set up (scripts/setup.sh), then run every test:
#
#   1. swift test                   unit and plugin tests (they build their
#                                   own fixture plugins)
#   2. scripts/leakcheck.sh         valgrind over the plugin host, if present
#   3. scripts/fuzz.sh              a short libFuzzer run of each fuzz target
#   4. Tests/Integration/run.sh     against the local RabbitMQ, if present
#   5. Tests/Faults/run.sh          fault injection and TLS, each on a private
#                                   RabbitMQ node it starts and stops itself
#
# Every step runs even when an earlier one fails; the exit status is non-zero
# if any failed, and the last line sums up.
#
# Environment: everything scripts/setup.sh reads, and
#   SWIFT_TEST_FLAGS   extra flags for `swift test`, e.g. "--filter JSONTests"

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
pw_setup

results=()
failed=0

# Runs one step, recording "name passed" or "name FAILED (exit N)".
run_step() {
    local name=$1
    shift
    pw_say "test: $name"
    local status=0
    "$@" || status=$?
    if [ "$status" -eq 0 ]; then
        results+=("$name passed")
    else
        results+=("$name FAILED (exit $status)")
        failed=1
    fi
}

skip_step() {
    pw_say "test: $1 skipped: $2"
    results+=("$1 skipped")
}

test_flags=()
read -r -a test_flags <<<"${SWIFT_TEST_FLAGS:-}"
run_step "swift test" swift test "${test_flags[@]}"

if [ -f scripts/leakcheck.sh ]; then
    run_step "leakcheck" bash scripts/leakcheck.sh
else
    skip_step "leakcheck" "scripts/leakcheck.sh does not exist yet"
fi

# A short fuzzing run of each libFuzzer target (a longer one: scripts/fuzz.sh -t 600).
run_step "fuzz" bash scripts/fuzz.sh -t "${PLUGWORKER_FUZZ_SECONDS:-20}"

if [ -f Tests/Integration/run.sh ]; then
    if [ "${PLUGWORKER_NO_BROKER:-}" = 1 ]; then
        pw_say "test: note: PLUGWORKER_NO_BROKER=1, integration tests need a broker of their own"
    fi
    run_step "integration" bash Tests/Integration/run.sh
else
    skip_step "integration" "no runner at Tests/Integration/run.sh yet"
fi

# Fault injection (docs/RELIABILITY.md) and amqps://: a private RabbitMQ
# node of their own (never the shared one), about 3 minutes.
if [ -f Tests/Faults/run.sh ]; then
    run_step "faults" bash Tests/Faults/run.sh
else
    skip_step "faults" "no runner at Tests/Faults/run.sh"
fi

summary=$(printf '%s; ' "${results[@]}")
summary=${summary%; }
if [ "$failed" -eq 0 ]; then
    echo "test.sh: OK — $summary"
else
    echo "test.sh: FAILED — $summary"
    exit 1
fi

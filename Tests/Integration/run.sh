#!/usr/bin/env bash
# Tests/Integration/run.sh — the integration tests: a stock Python Celery
# client drives the worker under test through a real RabbitMQ.
#
#   bash Tests/Integration/run.sh                          # plugworker (.build/debug)
#   PLUGWORKER_TEST_WORKER=celery bash Tests/Integration/run.sh   # the Python stand-in
#   bash Tests/Integration/run.sh -k malformed             # extra args go to pytest
#
# Creates or updates the Python venv first (celery 5.x, pytest, flower).
#
# Environment:
#   PLUGWORKER_TEST_WORKER  plugworker (default) or celery
#   PLUGWORKER_BIN          plugworker binary (default .build/debug/plugworker)
#   PLUGWORKER_VENV         the venv (default .venv at the repository root)
#   CELERY_BROKER_URL       default amqp://guest:guest@localhost:5672//
#
# Exit status: pytest's.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

export PLUGWORKER_TEST_WORKER="${PLUGWORKER_TEST_WORKER:-plugworker}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-amqp://guest:guest@localhost:5672//}"
venv="${PLUGWORKER_VENV:-.venv}"
requirements=('celery>=5.3,<6' 'pytest' 'flower')

say() { printf '==> integration: %s\n' "$*"; }

# The venv: made once, then only reinstalled when the requirements change or
# a package has gone missing (so that a run needs no network once set up).
stamp="$venv/.plugworker-integration-requirements"
if [ ! -x "$venv/bin/python" ]; then
    say "creating venv $venv"
    python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null || true)" != "${requirements[*]}" ] ||
    ! "$venv/bin/python" -c 'import celery, pytest, flower, amqp, kombu' 2>/dev/null; then
    say "installing ${requirements[*]} into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
    printf '%s' "${requirements[*]}" >"$stamp"
fi

# The broker: start the local one if nothing answers (scripts/setup.sh knows how).
broker_up() { timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672' 2>/dev/null; }
case "$CELERY_BROKER_URL" in
amqp://*@localhost:5672/* | amqp://*@127.0.0.1:5672/* | amqp://localhost* | amqp://127.0.0.1*)
    if ! broker_up && [ -f scripts/setup.sh ]; then
        say "no broker on localhost:5672; starting one"
        # shellcheck source=scripts/setup.sh
        (source scripts/setup.sh && pw_start_broker)
    fi
    ;;
esac

say "worker under test: $PLUGWORKER_TEST_WORKER"
status=0
"$venv/bin/python" -m pytest -q -ra -p no:cacheprovider Tests/Integration "$@" || status=$?
if [ "$status" -eq 0 ]; then
    say "passed ($PLUGWORKER_TEST_WORKER)"
else
    say "FAILED with pytest exit status $status ($PLUGWORKER_TEST_WORKER)"
fi
exit "$status"

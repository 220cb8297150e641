#!/usr/bin/env bash
# Tests/Faults/run.sh — the fault-injection suite and the TLS/masking tests,
# each against a private RabbitMQ node of its own (Tests/Faults/private_broker.py;
# the shared broker on 5672 is never touched).
#
#   bash Tests/Faults/run.sh                  # both
#   bash Tests/Faults/run.sh -k pool          # extra args go to run.py
#
# Environment:
#   PLUGWORKER_VENV   the venv (default .venv; Tests/Integration/run.sh makes it)
#   PLUGWORKER_BIN    plugworker binary (default .build/debug/plugworker)
#   PLUGWORKER_FAULTS_JSON  where run.py writes its figures (default: none)
#
# Exit status: non-zero if a TLS test failed, a task was lost, a duplicate
# could not be explained or a scenario's own check failed.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
venv="${PLUGWORKER_VENV:-.venv}"
say() { printf '==> faults: %s\n' "$*"; }

if ! "$venv/bin/python" -c 'import celery, pytest, amqp' 2>/dev/null; then
    say "no usable venv at $venv; making it with Tests/Integration/run.sh's requirements"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'celery>=5.3,<6' pytest flower
fi

status=0
say "TLS (amqps://) and password masking"
"$venv/bin/python" -m pytest -q -ra -p no:cacheprovider Tests/Faults/test_tls.py || status=1
say "fault injection"
json_args=()
[ -n "${PLUGWORKER_FAULTS_JSON:-}" ] && json_args=(--json "$PLUGWORKER_FAULTS_JSON")
"$venv/bin/python" Tests/Faults/run.py "${json_args[@]}" "$@" || status=1
if [ "$status" -eq 0 ]; then say "passed"; else say "FAILED"; fi
exit "$status"

#!/usr/bin/env bash
# scripts/run.sh — set up (scripts/setup.sh), then run plugworker on ./Plugins.
#
# Arguments are passed on to the worker (e.g. -c 4 -Q celery,images -l debug).
# Environment: see scripts/setup.sh (PLUGWORKER_NO_BROKER, SWIFT_BUILD_FLAGS);
# the broker URL comes from CELERY_BROKER_URL or --broker.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
pw_setup

plugworker="$(pw_bin_path)/plugworker"

exec "$plugworker" --plugins ./Plugins "$@"

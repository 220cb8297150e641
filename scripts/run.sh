#!/usr/bin/env bash
# scripts/run.sh — set up (scripts/setup.sh), then run plugworker on ./Plugins.
#
# Arguments are passed on to the worker once it exists. Environment: see
# scripts/setup.sh (PLUGWORKER_NO_BROKER, SWIFT_BUILD_FLAGS).

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
pw_setup

plugworker="$(pw_bin_path)/plugworker"

# The AMQP worker does not exist yet. When it lands, replace the two lines
# below with this one:
#   exec "$plugworker" --plugins ./Plugins "$@"
"$plugworker" check ./Plugins
echo "run.sh: plugins OK; the AMQP worker (\`plugworker --plugins ./Plugins\`) arrives with the worker issue, so nothing runs yet."

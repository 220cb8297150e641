#!/usr/bin/env bash
# scripts/setup.sh — get a machine ready to build, test and run plugworker.
#
#   1. installs the Debian packages the build and the tests need, if any are
#      missing (apt-get; as root, or through sudo);
#   2. finds the Swift toolchain (PATH, then /opt/swift/usr/bin);
#   3. starts a local RabbitMQ unless one answers on localhost:5672;
#   4. builds the example plugins (make -C Plugins) and the package
#      (swift build).
#
# Safe to run again: every step checks before it acts. Works as root without
# a terminal (CI=true) and as a developer with sudo.
#
# Environment:
#   PLUGWORKER_NO_BROKER=1   do not look for or start RabbitMQ
#   SWIFT_BUILD_FLAGS        extra flags for `swift build`, e.g. "-c release"
#
# Other scripts source this file to reuse its functions; sourcing defines
# them and does nothing else. Run it directly to set up.

set -euo pipefail

# Debian packages: compiler and make, pkg-config (SwiftPM finds libffi,
# librabbitmq and zlib with it), the libraries' headers, the broker, valgrind
# (scripts/leakcheck.sh), python3-venv (a Celery client for the integration
# tests), openssl (the test CA and certificates of Tests/Faults/test_tls.py),
# chromium (headless, for the screenshot of Flower's dashboard in
# Tests/Integration/test_flower.py), git and ca-certificates (SwiftPM fetches
# dependencies).
PW_PACKAGES=(
    build-essential pkg-config git ca-certificates
    libffi-dev librabbitmq-dev zlib1g-dev
    rabbitmq-server valgrind python3-venv openssl chromium
)

PW_BROKER_HOST=127.0.0.1
PW_BROKER_PORT=5672
PW_BROKER_WAIT=60 # seconds

pw_say() { printf '==> %s\n' "$*"; }
pw_die() {
    printf 'setup: error: %s\n' "$*" >&2
    exit 1
}

# The repository root: the parent of this script's directory.
pw_repo_root() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd
}

# Runs a command as root: directly when we are root, else through sudo
# (non-interactive when there is no terminal to ask for a password on).
pw_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        if [ -t 0 ]; then sudo "$@"; else sudo -n "$@"; fi
    else
        pw_die "need root for: $* (run as root, or install sudo)"
    fi
}

pw_installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'
}

# 1. Packages.
pw_install_packages() {
    if ! command -v dpkg >/dev/null 2>&1; then
        pw_say "packages: not a Debian-family system; install the equivalents of: ${PW_PACKAGES[*]}"
        return 0
    fi
    local missing=() p
    for p in "${PW_PACKAGES[@]}"; do
        pw_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        pw_say "packages: all present"
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || pw_die "missing packages (${missing[*]}) and no apt-get to install them"
    pw_say "packages: installing ${missing[*]}"
    pw_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    pw_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# 2. Swift. Puts the toolchain on PATH for this shell and its children.
pw_find_swift() {
    if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    if ! command -v swift >/dev/null 2>&1; then
        pw_die "swift is not on PATH (nor in /opt/swift/usr/bin). Install a Swift 6 toolchain from https://www.swift.org/install/linux/ and put its usr/bin on PATH."
    fi
    pw_say "swift: $(command -v swift) ($(swift --version 2>/dev/null | head -n 1))"
}

# True when something accepts TCP connections on the broker port.
pw_broker_up() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$PW_BROKER_HOST/$PW_BROKER_PORT" 2>/dev/null
}

# 3. RabbitMQ.
pw_start_broker() {
    if [ "${PLUGWORKER_NO_BROKER:-}" = 1 ]; then
        pw_say "broker: skipped (PLUGWORKER_NO_BROKER=1)"
        return 0
    fi
    if pw_broker_up; then
        pw_say "broker: RabbitMQ answers on $PW_BROKER_HOST:$PW_BROKER_PORT"
        return 0
    fi
    command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ] ||
        pw_die "nothing listens on $PW_BROKER_HOST:$PW_BROKER_PORT and rabbitmq-server is not installed"
    local log=/tmp/plugworker-rabbitmq-start.log
    pw_say "broker: nothing on $PW_BROKER_HOST:$PW_BROKER_PORT; starting: rabbitmq-server -detached (output in $log)"
    PATH="$PATH:/usr/sbin" pw_as_root rabbitmq-server -detached </dev/null >"$log" 2>&1 ||
        pw_die "rabbitmq-server -detached failed; see $log"
    local waited=0
    until pw_broker_up; do
        if [ "$waited" -ge "$PW_BROKER_WAIT" ]; then
            pw_die "RabbitMQ did not open port $PW_BROKER_PORT within ${PW_BROKER_WAIT}s; see $log and /var/log/rabbitmq/"
        fi
        sleep 1
        waited=$((waited + 1))
        if [ $((waited % 10)) -eq 0 ]; then pw_say "broker: still waiting (${waited}s)"; fi
    done
    pw_say "broker: RabbitMQ is up on $PW_BROKER_HOST:$PW_BROKER_PORT after ${waited}s"
}

# SWIFT_BUILD_FLAGS as an array (split on spaces on purpose).
pw_swift_flags() {
    PW_SWIFT_FLAGS=()
    read -r -a PW_SWIFT_FLAGS <<<"${SWIFT_BUILD_FLAGS:-}"
}

# 4. Build.
pw_build() {
    local root
    root=$(pw_repo_root)
    pw_swift_flags
    pw_say "build: make -C Plugins"
    make -C "$root/Plugins"
    pw_say "build: swift build${SWIFT_BUILD_FLAGS:+ $SWIFT_BUILD_FLAGS}"
    (cd "$root" && swift build "${PW_SWIFT_FLAGS[@]}")
}

# The directory holding the built plugworker binary (.build/debug by default).
pw_bin_path() {
    pw_swift_flags
    (cd "$(pw_repo_root)" && swift build "${PW_SWIFT_FLAGS[@]}" --show-bin-path)
}

# Everything, in order, then a summary.
pw_setup() {
    local root
    root=$(pw_repo_root)
    pw_install_packages
    pw_find_swift
    pw_start_broker
    pw_build
    local bin
    bin=$(pw_bin_path)
    pw_say "setup done"
    printf '    plugworker  %s/plugworker\n' "$bin"
    printf '    plugins     %s/Plugins (%s)\n' "$root" "$(cd "$root/Plugins" && echo *.so)"
    if [ "${PLUGWORKER_NO_BROKER:-}" = 1 ]; then
        printf '    broker      not checked\n'
    else
        printf '    broker      amqp://guest:guest@localhost:%s//\n' "$PW_BROKER_PORT"
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    pw_setup "$@"
fi

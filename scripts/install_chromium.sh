#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the browser tests (tests/browser/).
# Idempotent: does nothing when /usr/bin/chromium is already there. Nothing here downloads a
# browser build of its own; Chromium comes from Debian's packages only.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "error: installing chromium needs root (or sudo): apt-get install -y chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-liberation
echo "chromium: installed ($(/usr/bin/chromium --version))"

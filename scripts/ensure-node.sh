#!/usr/bin/env bash
# Make sure Node.js and npm are installed: tests/js runs the openEO JavaScript client against a
# live server. Quick and silent when they are there; installs Debian's packages otherwise (root).
set -euo pipefail

if command -v node >/dev/null && command -v npm >/dev/null; then
    exit 0
fi

if [ "$(id -u)" != "0" ]; then
    echo "Node.js/npm are not installed and this is not root: install Debian's 'nodejs' and 'npm'" >&2
    exit 1
fi

echo "Installing Node.js and npm from Debian's packages ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
command -v node >/dev/null && command -v npm >/dev/null || {
    echo "node or npm still missing after installing them" >&2
    exit 1
}

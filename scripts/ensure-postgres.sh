#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries (initdb, pg_ctl, postgres) are installed: the storage and
# jobs tests start a throw-away PostgreSQL with them. Quick and silent when they are already there;
# installs Debian's `postgresql` package otherwise (needs root, as CI runs).
set -euo pipefail

find_initdb() {
    command -v initdb 2>/dev/null && return 0
    ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 | grep . && return 0
    return 1
}

if find_initdb >/dev/null; then
    exit 0
fi

if [ "$(id -u)" != "0" ]; then
    echo "PostgreSQL is not installed and this is not root: install Debian's 'postgresql' package" >&2
    exit 1
fi

echo "Installing PostgreSQL from Debian's packages ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# No cluster of the package's own: the tests run their own server in a temp dir.
mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/no-main-cluster.conf
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
find_initdb >/dev/null || { echo "initdb still missing after installing postgresql" >&2; exit 1; }

#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries (initdb, pg_ctl, postgres) are installed: the storage and
# jobs tests start a throw-away PostgreSQL with them. Quick and silent when they are already there;
# installs Debian's `postgresql` package otherwise (needs root, as CI runs). The STAC API of the
# tests (stac-fastapi-pgstac, tests/support/stac_api.py) needs PostGIS in the same server: Debian's
# `postgresql-<major>-postgis-3` is installed too.
set -euo pipefail

find_initdb() {
    command -v initdb 2>/dev/null && return 0
    ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 | grep . && return 0
    return 1
}

has_postgis() {
    local initdb major
    initdb=$(find_initdb) || return 1
    major=$(basename "$(dirname "$(dirname "$(readlink -f "$initdb")")")")
    ls /usr/share/postgresql/"$major"/extension/postgis.control >/dev/null 2>&1
}

if find_initdb >/dev/null && has_postgis; then
    exit 0
fi

if [ "$(id -u)" != "0" ]; then
    echo "PostgreSQL or PostGIS is not installed and this is not root: install Debian's" \
        "'postgresql' and 'postgresql-<major>-postgis-3' packages" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# No cluster of the package's own: the tests run their own server in a temp dir.
mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/no-main-cluster.conf
if ! find_initdb >/dev/null; then
    echo "Installing PostgreSQL from Debian's packages ..."
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
find_initdb >/dev/null || { echo "initdb still missing after installing postgresql" >&2; exit 1; }
major=$(basename "$(dirname "$(dirname "$(readlink -f "$(find_initdb)")")")")
echo "Installing PostGIS for PostgreSQL $major from Debian's packages ..."
apt-get install -y -qq --no-install-recommends "postgresql-$major-postgis-3" >/dev/null
has_postgis || { echo "postgis still missing after installing postgresql-$major-postgis-3" >&2; exit 1; }

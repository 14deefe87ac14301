"""Fixtures of the JavaScript client tests: the client from npm and a real server.

Needs Node.js and npm, which ``make test`` installs when missing (``scripts/ensure-node.sh``).
The client is installed from the npm registry into ``var/js-client`` on first use.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.servers import running_server

REPO = Path(__file__).resolve().parents[2]
# The newest release; the openEO Web Editor 0.15 (built from source, not on npm) bundles a 2.x
# release of the client, whose requests tests/js/editor_replay.cjs replays.
CLIENT = "@openeo/js-client@2.12.0"
PREFIX = REPO / "var" / "js-client"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    # `make test` installs them (scripts/ensure-node.sh): missing means a broken set-up.
    assert shutil.which("node") and shutil.which("npm"), "Node.js/npm missing: see ensure-node.sh"
    marker = PREFIX / ".installed"
    PREFIX.mkdir(parents=True, exist_ok=True)
    # One install at a time: the test processes of `-n 2` may both come here first.
    with open(PREFIX / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists() or marker.read_text().strip() != CLIENT:
            subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(PREFIX), CLIENT],
                check=True,
                capture_output=True,
            )
            marker.write_text(CLIENT + "\n")
    return PREFIX / "node_modules"


@pytest.fixture(scope="session")
def js_server(tmp_path_factory, demo_catalog_dir):
    with running_server(tmp_path_factory.mktemp("js-server"), demo_catalog_dir) as url:
        yield url


# The API versions the clients are run against: what the JS client's connect() is given (the
# bare host for the newest, which its discovery finds; the prefix for an older one).
API_VERSIONS = {"1.2.0": "/openeo/1.2", "1.3.0": ""}


@pytest.fixture(scope="module", params=sorted(API_VERSIONS))
def api_version(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def connect_url(js_server, api_version) -> str:
    """The URL the clients connect to for ``api_version``."""
    return js_server + API_VERSIONS[api_version]

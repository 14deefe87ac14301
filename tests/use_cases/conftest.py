"""A real server on the small demo catalog, and each example script run once against it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import running_server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session")
def use_case_server(tmp_path_factory, demo_catalog_dir):
    with running_server(tmp_path_factory.mktemp("use-case-server"), demo_catalog_dir) as url:
        yield url


def run_example(script: str, url: str, out: Path) -> subprocess.CompletedProcess:
    """``python examples/<script> URL --out OUT`` as a user would run it."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), url, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )


class ExampleRun:
    """The outputs of one example script run."""

    def __init__(self, out: Path, proc: subprocess.CompletedProcess):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        self.out, self.stdout = out, proc.stdout
        self.result = json.loads((out / "result.json").read_text())
        self.usage = json.loads((out / "usage.json").read_text())


@pytest.fixture(scope="session")
def flood_run(use_case_server, tmp_path_factory) -> ExampleRun:
    out = tmp_path_factory.mktemp("flood-output")
    return ExampleRun(out, run_example("flood_pakistan.py", use_case_server, out))


@pytest.fixture(scope="session")
def drought_run(use_case_server, tmp_path_factory) -> ExampleRun:
    out = tmp_path_factory.mktemp("drought-output")
    return ExampleRun(out, run_example("drought_po_valley.py", use_case_server, out))

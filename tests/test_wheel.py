"""The package as it is shipped: a wheel built from the sources, installed (not editable) into a
fresh virtual environment, plans and runs a process graph with nothing of the repository at hand.

Offline: the wheel is built without build isolation (setuptools and wheel come with the test
extras) and the fresh environment reaches the dependencies through a ``.pth`` line naming this
environment's site-packages, where openeo_dedl itself is only an editable install (whose finder a
``.pth`` path line does not load), so ``import openeo_dedl`` finds the installed wheel alone.
"""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import reduce_graph

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel of the sources installed: its bin/."""
    tmp = tmp_path_factory.mktemp("wheel")
    # A copy of what the wheel is built from: the build writes build/ and egg-info beside it.
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(
        REPO / "openeo_dedl",
        src / "openeo_dedl",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    dist = tmp / "dist"
    pip = (sys.executable, "-m", "pip")
    _run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, src, cwd=tmp)
    (wheel,) = dist.glob("openeo_dedl-*.whl")

    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp)
    python = venv / "bin" / "python"
    purelib = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp
    ).stdout.strip()
    (Path(purelib) / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    # --ignore-installed: the dependencies' environment lists the editable install too.
    _run(python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", wheel,
         cwd=tmp)  # fmt: skip
    return venv / "bin"


# Run by the fresh environment's Python: where openeo_dedl comes from, and a synchronous run of
# a graph through the facade (as POST /result runs it, without the worker processes).
_RUN = """
import json, sys, tempfile
from pathlib import Path
import openeo_dedl
from openeo_dedl.backend import Backend
from openeo_dedl.config import load_settings
from openeo_dedl.execution import registry

backend = Backend(load_settings(sys.argv[1]))
try:
    with tempfile.TemporaryDirectory() as tmp:
        result = backend.run_sync(json.loads(Path(sys.argv[2]).read_text()), Path(tmp))
        size = result.path.stat().st_size
finally:
    backend.close()
print(json.dumps({
    "module": openeo_dedl.__file__,
    "specs": str(registry.PROCESS_SPECS_DIR),
    "load_collection": registry.available_specs()["load_collection"]["description"],
    "all_rc2": registry.available_specs("2.0.0-rc.2")["all"]["examples"][-1]["returns"],
    "size": size,
    "plan": result.plan,
}))
"""


def test_the_installed_wheel_runs_a_graph(installed, tmp_path, demo_catalog_dir):
    (tmp_path / "graph.json").write_text(json.dumps(reduce_graph()))
    config = tmp_path / "config.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndemo_catalog_dir = "{demo_catalog_dir}"\n'
    )

    out = _run(installed / "python", "-c", _RUN, config, "graph.json", cwd=tmp_path)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    venv = installed.parent
    assert Path(report["module"]).is_relative_to(venv), report["module"]
    assert Path(report["specs"]).is_relative_to(venv), report["specs"]
    assert "federation:backends" in report["load_collection"]  # our spec, not the standard one
    assert report["all_rc2"] is True  # openeo-processes 2.0.0-rc.2's all([]): packaged too
    assert report["plan"]["node_sites"]["load"] == "lumi"
    assert report["size"] > 0
    # The console script of the wheel.
    assert "plan" in _run(installed / "openeo-dedl", "--help", cwd=tmp_path).stdout

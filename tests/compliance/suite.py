"""Running the official openEO compliance suite (openeo-test-suite) against a live server.

The suite pins ``openapi-core==0.18.2`` while this project (and its API tests) need a newer one,
so it lives in its own virtual environment, ``var/compliance-venv``, created on first use from
the package index (``SUITE_REQUIREMENT``). Its data files (the openEO API and process specs,
the request payloads) are not in its wheel; they are linked in from ``../shared/openeo-specs``
where the suite looks for them. Offline adaptations (basic auth, local STAC schemas) and the
expected failures are in ``suite_plugin.py`` and ``expected_failures.json`` next to this file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO.parent / "shared" / "openeo-specs"
HERE = Path(__file__).resolve().parent
VENV = REPO / "var" / "compliance-venv"
SUITE_REQUIREMENT = "openeo-test-suite==0.2.2"
# The suite (0.2.2) predates API 1.3 and checks against the 1.2 spec: it gets the 1.2 prefix
# (given the bare host it would take the last version of /.well-known/openeo, 1.3).
SUITE_API = "/openeo/1.2/"
S2_COLLECTION = "SENTINEL2_L2A"

# Group name → the suite's test package and options (``-U`` and the rest are added per run).
GROUPS: dict[str, list[str]] = {
    "general": ["--pyargs", "openeo_test_suite.tests.general"],
    "collections": ["--pyargs", "openeo_test_suite.tests.collections"],
    "processes.metadata": ["--pyargs", "openeo_test_suite.tests.processes.metadata"],
    "processes.processing": [
        "--pyargs",
        "openeo_test_suite.tests.processes.processing",
        "--runner=http",
        "--process-levels=L1,L2",
    ],
    "workflows": [
        "--pyargs",
        "openeo_test_suite.tests.workflows",
        f"--s2-collection={S2_COLLECTION}",
    ],
}


def _python() -> Path:
    return VENV / "bin" / "python"


def _site_dir() -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return VENV / "lib" / version


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        if link.is_symlink() and link.resolve() == target.resolve():
            return
        link.unlink()
    link.symlink_to(target)


def _lay_out_data_files() -> None:
    """Where the suite looks for its data: next to its package's ``lib/pythonX.Y``."""
    lib = _site_dir()
    _link(SPECS / "openeo-api", lib / "assets" / "openeo-api")
    _link(
        SPECS / "test-suite-payload-examples",
        lib / "src" / "openeo_test_suite" / "tests" / "general" / "payload_examples",
    )
    # The process tests resolve "assets/..." next to the process JSON files, while
    # openeo-processes keeps those assets in tests/assets: a directory of links joins both.
    processes = lib / "assets" / "processes"
    if processes.is_symlink():
        processes.unlink()
    processes.mkdir(parents=True, exist_ok=True)
    source = SPECS / "openeo-processes"
    for entry in source.iterdir():
        _link(entry, processes / entry.name)
    _link(source / "tests" / "assets", processes / "assets")


def ensure_suite_venv() -> Path:
    """The suite's Python, installing it (once) into ``var/compliance-venv``."""
    marker = VENV / ".installed"
    if not marker.exists() or marker.read_text().strip() != SUITE_REQUIREMENT:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(_python()), "-m", "pip", "install", "--quiet", SUITE_REQUIREMENT], check=True
        )
        marker.write_text(SUITE_REQUIREMENT + "\n")
    _lay_out_data_files()
    return _python()


@dataclass
class GroupResult:
    """The outcome of one group: counts per outcome and the unexpected failures."""

    group: str
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (test, message)
    output: str = ""

    @property
    def unexpected(self) -> int:
        return self.counts.get("failed", 0) + self.counts.get("error", 0)


def parse_junit(path: Path, group: str) -> GroupResult:
    """Counts (passed, failed, error, skipped, xfailed) of a junit-xml report."""
    result = GroupResult(group, {k: 0 for k in ("passed", "failed", "error", "skipped", "xfailed")})
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}".split("openeo_test_suite.", 1)[-1]
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
                result.failures.append((name, (child.get("message") or "")[:500]))
            elif child.tag == "skipped":
                outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
        result.counts[outcome] += 1
    return result


def run_group(group: str, url: str, work_dir: Path, timeout: float = 900) -> GroupResult:
    """Run one group of the suite against ``url`` with a junit-xml report in ``work_dir``."""
    python = ensure_suite_venv()
    work_dir.mkdir(parents=True, exist_ok=True)
    junit = (work_dir / f"{group}.xml").resolve()
    env = {
        **os.environ,
        "OPENEO_AUTH_METHOD": "basic",
        "OPENEO_AUTH_BASIC_USERNAME": "demo",
        "OPENEO_AUTH_BASIC_PASSWORD": "demo",
        "STAC_SCHEMAS_DIR": str(SPECS / "stac-schemas"),
        "PYTHONPATH": str(HERE),
    }
    command = [
        str(python),
        "-m",
        "pytest",
        "-c",
        str(HERE / "suite_pytest.ini"),
        f"--rootdir={_site_dir() / 'site-packages'}",
        "-p",
        "openeo_test_suite.lib.pytest_plugin",
        "-p",
        "suite_plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rfE",
        f"--junit-xml={junit}",
        f"--openeo-backend-url={url}",
        *GROUPS[group],
    ]
    proc = subprocess.run(
        command, cwd=work_dir, env=env, capture_output=True, text=True, timeout=timeout
    )
    if not junit.exists():
        raise RuntimeError(
            f"the suite did not run ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    result = parse_junit(junit, group)
    result.output = proc.stdout[-20000:] + proc.stderr[-5000:]
    return result

"""The openeo-processes versions served, and the one a process runs with.

The draft after 2.0.0-rc.1 that the compliance suite checks (API 1.2; also the CLI's and jobs
stored before), and 2.0.0-rc.2 (API 1.3), which differs from it in ``all``, ``any`` and
``is_nan`` (specs: ``process_specs/openeo-processes-2.0.0-rc.2/``, implementations:
``execution/processes/rc2.py``; docs/compliance.md). Light: the API imports it.
"""

from __future__ import annotations

PROCESSES_RC1 = "2.0.0-rc.1"
PROCESSES_RC2 = "2.0.0-rc.2"
PROCESSES_VERSIONS = (PROCESSES_RC1, PROCESSES_RC2)

# A process (the dict of POST /result or a job) carries the version it runs with under this key,
# set by the API for 1.3; without it, the draft.
PROCESSES_KEY = "openeo-dedl:processes_version"


def processes_version_of(process: object) -> str:
    """The openeo-processes version ``process`` (a process dict) is to run with."""
    version = process.get(PROCESSES_KEY) if isinstance(process, dict) else None
    return version if version in PROCESSES_VERSIONS else PROCESSES_RC1


def marked(process: dict, version: str) -> dict:
    """``process`` to run with ``version`` (a client's own mark is replaced)."""
    process = {k: v for k, v in process.items() if k != PROCESSES_KEY}
    if version != PROCESSES_RC1:
        process[PROCESSES_KEY] = version
    return process


def unmarked(process: dict) -> dict:
    """``process`` as the client sent it, without the mark."""
    return {k: v for k, v in process.items() if k != PROCESSES_KEY}

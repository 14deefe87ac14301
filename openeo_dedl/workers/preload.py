"""Imported once by the forkserver that worker processes are forked from (``pool.py``).

A spawned worker process spent ~4 s of CPU importing openeo-processes-dask and reading the
process specs before it could take a task; forked from a process that did it once, a worker
(first ones and replacements of killed ones alike) is ready in milliseconds. Nothing here may
start a thread or open a connection: the forkserver forks with whatever it holds.
"""

from __future__ import annotations

from openeo_dedl.execution import registry
from openeo_dedl.execution.versions import PROCESSES_VERSIONS
from openeo_dedl.workers import child  # noqa: F401 - the worker's own imports

for _version in PROCESSES_VERSIONS:
    registry.available_specs(_version)

"""What a run gives back: the result file, its media type, its usage and its plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openeo_dedl.execution.usage import Usage


@dataclass
class SyncResult:
    """The outcome of a run (synchronous or a batch job's): the file written and what it cost."""

    path: Path
    media_type: str
    # Serialised (``Usage.to_dict``) only where it leaves: the work queue, the job store, HTTP.
    usage: Usage = field(default_factory=Usage)
    plan: dict = field(default_factory=dict)
    # What export_workspace copied (``execution/exports.py``: workspace, folder, asset).
    exports: list = field(default_factory=list)

"""What a run gives back: the result file, its media type, its usage and its plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SyncResult:
    """The outcome of a run (synchronous or a batch job's): the file written and what it cost."""

    path: Path
    media_type: str
    # ``execution.usage.Usage.to_dict()``: openEO's `usage` plus our per-site figures (bytes
    # moved, seconds per site). JSON because a result crosses processes (worker → API, store).
    usage: dict = field(default_factory=dict)
    plan: dict = field(default_factory=dict)
    # What export_workspace copied (``execution/exports.py``: workspace, folder, asset).
    exports: list = field(default_factory=list)

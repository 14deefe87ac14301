"""``export_workspace`` (openeo-processes 2.0 proposal): copy what ``save_result`` saved to a
configured export workspace. The process only records the request; the executor writes the
result file and then exports it (``execution/exports.py``), as it writes ``save_result``'s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openeo_dedl.errors import ProcessParameterInvalid
from openeo_dedl.execution.save import SaveRequest


@dataclass
class ExportRequest(SaveRequest):
    """A saved result (``save_result``'s STAC resource) to copy to ``workspace``; into the
    STAC resource at path ``merge`` of the user's folder there, or a new one."""

    def __init__(
        self,
        data: Any,
        format: str,
        options: dict | None = None,
        workspace: str = "",
        merge: str | None = None,
    ) -> None:
        super().__init__(data, format, options)
        self.workspace = workspace
        self.merge = merge

    def __reduce__(self):
        return (ExportRequest, (self.data, self.format, self.options, self.workspace, self.merge))

    def with_data(self, data: Any) -> ExportRequest:
        return ExportRequest(data, self.format, self.options, self.workspace, self.merge)


def export_workspace(data: Any, workspace: str, merge: str | None = None, **_: Any) -> SaveRequest:
    if not isinstance(data, SaveRequest):
        raise ProcessParameterInvalid(
            "The value passed for parameter 'data' in process 'export_workspace' is invalid: "
            "it must be the STAC resource that save_result returns."
        )
    if isinstance(data, ExportRequest):
        raise ProcessParameterInvalid(
            "The value passed for parameter 'data' in process 'export_workspace' is invalid: "
            "a result is exported to one workspace only here."
        )
    return ExportRequest(
        data=data.data, format=data.format, options=data.options, workspace=workspace, merge=merge
    )


def implementations() -> dict[str, Callable]:
    return {"export_workspace": export_workspace}

"""Results copied to an export workspace (``export_workspace``, Workspaces extension).

Each configured workspace (``export_workspaces``) is an fsspec URL with a folder per user, as
the ``/files`` workspace (``storage/workspace.py``: the same safe paths, no links followed,
files published only when complete). An export writes the result file and a STAC Collection
(``collection.json``) listing it into a folder of the user's: ``merge`` (a clean relative
path) adds the file to the collection there, else a new folder ``export-<time>-<id>`` is made.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import fsspec

from openeo_dedl.config import ExportWorkspaceConfig, Settings
from openeo_dedl.errors import FileNotFound, ProcessParameterInvalid, WorkspaceNotFound
from openeo_dedl.execution.processes.export import ExportRequest
from openeo_dedl.locations import clean_path
from openeo_dedl.storage.workspace import Workspace, user_folder

COLLECTION_FILE = "collection.json"
STAC_VERSION = "1.0.0"


def export_workspace_config(settings: Settings, workspace_id: str) -> ExportWorkspaceConfig:
    """The configured workspace of ``workspace_id`` (case-insensitive); WorkspaceNotFound."""
    for config in settings.export_workspaces:
        if config.id.lower() == workspace_id.lower():
            return config
    raise WorkspaceNotFound(f"Workspace '{workspace_id[:64]}' does not exist.")


def provider_of(config: ExportWorkspaceConfig) -> str:
    """The workspace's provider name: its fsspec protocol (``file``, ``s3``, ...)."""
    protocol = fsspec.core.split_protocol(config.url)[0] or "file"
    return protocol.lower()


def describe_workspace(config: ExportWorkspaceConfig, user_id: str) -> dict[str, Any]:
    """The openEO ``workspace`` of ``config`` for ``user_id``: ready, with its folder's URL."""
    root = config.url.rstrip("/")
    protocol = provider_of(config)
    if "://" not in root:
        root = f"file://{Path(root).resolve()}"
    doc: dict[str, Any] = {
        "id": config.id,
        "type": protocol,
        "status": "ready",
        "url": f"{root}/users/{user_folder(user_id)}",
    }
    if config.title:
        doc["title"] = config.title
    if config.description:
        doc["description"] = config.description
    return doc


def export_result(
    settings: Settings, user_id: str | None, request: ExportRequest, path: Path, media_type: str
) -> dict[str, Any]:
    """Copy the result file ``path`` to the workspace ``request`` names, in ``user_id``'s
    folder; what was written (``workspace``, ``folder``, ``asset``)."""
    if user_id is None:
        raise ProcessParameterInvalid("export_workspace needs a signed-in user.")
    config = export_workspace_config(settings, request.workspace)
    folder = _folder(request.merge)
    workspace = Workspace(config.url, config.storage_options)
    now = dt.datetime.now(dt.UTC)
    asset = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}-{path.name}"
    _publish(workspace, user_id, f"{folder}/{asset}", path.read_bytes())
    collection = _collection(workspace, user_id, folder, now)
    collection["assets"][asset] = {"href": f"./{asset}", "type": media_type, "roles": ["data"]}
    text = json.dumps(collection, indent=2).encode()
    _publish(workspace, user_id, f"{folder}/{COLLECTION_FILE}", text)
    return {"workspace": config.id, "folder": folder, "asset": asset}


def _folder(merge: str | None) -> str:
    if merge is None:
        stamp = dt.datetime.now(dt.UTC)
        return f"export-{stamp:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    try:
        return clean_path(merge)
    except Exception as exc:  # FilePathInvalid: as the validation says it
        raise ProcessParameterInvalid(
            "The value passed for parameter 'merge' in process 'export_workspace' is invalid: "
            f"{getattr(exc, 'message', exc)}"
        ) from exc


def _publish(workspace: Workspace, user_id: str, path: str, content: bytes) -> None:
    upload = workspace.start_upload()
    try:
        upload.write(content)
        workspace.publish(upload, user_id, path)
    finally:
        upload.discard()


def _collection(workspace: Workspace, user_id: str, folder: str, now: dt.datetime) -> dict:
    """The folder's STAC Collection to merge into, or a new one."""
    try:
        workspace.info(user_id, f"{folder}/{COLLECTION_FILE}")
    except FileNotFound:
        return {
            "type": "Collection",
            "stac_version": STAC_VERSION,
            "id": folder.replace("/", "-"),
            "description": "Results exported by openEO DEDL (export_workspace).",
            "license": "proprietary",
            "extent": {
                "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
                "temporal": {"interval": [[now.strftime("%Y-%m-%dT%H:%M:%SZ"), None]]},
            },
            "links": [],
            "assets": {},
        }
    with workspace.open(user_id, f"{folder}/{COLLECTION_FILE}") as f:
        try:
            existing = json.load(f)
        except ValueError:
            existing = None
    if not isinstance(existing, dict) or not isinstance(existing.get("assets"), dict):
        raise ProcessParameterInvalid(
            "The value passed for parameter 'merge' in process 'export_workspace' is invalid: "
            f"'{folder}/{COLLECTION_FILE}' is not a STAC Collection with assets."
        )
    return existing

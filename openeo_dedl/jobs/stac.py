"""The STAC Item describing a job's results (what ``GET /jobs/{id}/results`` returns)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pystac
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension

from openeo_dedl.formats import rfc3339
from openeo_dedl.jobs.info import JobInfo

STAC_VERSION = "1.0.0"


def _union(boxes: list[list[float]]) -> list[float] | None:
    if not boxes:
        return None
    return [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]


def _polygon(bbox: list[float]) -> dict:
    w, s, e, n = bbox
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def result_item(
    job: JobInfo,
    status: str,
    href: Callable[[str], str],
    links: list[dict[str, Any]],
    expires: datetime | None,
) -> dict[str, Any]:
    """The results of ``job`` as a STAC Item dict.

    ``status`` is the ``openeo:status``; ``href(name)`` the signed URL of an asset; ``links``
    go into the item as they are; ``expires`` is when the asset links stop working.
    """
    assets_meta = job.results or []
    bbox = _union([a["bbox_wgs84"] for a in assets_meta if a.get("bbox_wgs84")])
    starts = sorted(a["start"] for a in assets_meta if a.get("start"))
    ends = sorted(a["end"] for a in assets_meta if a.get("end"))
    properties: dict[str, Any] = {
        "openeo:status": status,
        "created": rfc3339(job.created),
        "updated": rfc3339(job.updated),
    }
    if job.title:
        properties["title"] = job.title
    if job.description:
        properties["description"] = job.description
    if expires is not None and assets_meta:
        properties["expires"] = rfc3339(expires)
    when = job.finished or job.started or job.created
    item = pystac.Item(
        id=job.id,
        geometry=_polygon(bbox) if bbox else None,
        bbox=bbox,
        # A time range when the data has one; else when the results were made.
        datetime=None if starts else when,
        start_datetime=pystac.utils.str_to_datetime(starts[0]) if starts else None,
        end_datetime=pystac.utils.str_to_datetime(ends[-1]) if ends else None,
        properties=properties,
    )
    for meta in assets_meta:
        asset = pystac.Asset(
            href=href(meta["name"]),
            media_type=meta["type"],
            roles=meta.get("roles", ["data"]),
            title=meta["name"],
        )
        item.add_asset(meta["name"], asset)
        FileExtension.ext(asset, add_if_missing=True).size = meta["size"]
        proj = meta.get("proj")
        if proj:
            ext = ProjectionExtension.ext(asset, add_if_missing=True)
            ext.epsg = proj.get("epsg")
            ext.shape = proj.get("shape")
            ext.transform = proj.get("transform")
            ext.bbox = proj.get("bbox")
        if meta.get("bands"):
            asset.extra_fields["bands"] = [{"name": b} for b in meta["bands"]]
    doc = item.to_dict(include_self_link=False, transform_hrefs=False)
    doc["stac_version"] = doc.get("stac_version", STAC_VERSION)
    doc["links"] = list(links)
    return doc

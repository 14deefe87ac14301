"""The STAC fields of the demo collections that describe them as a whole (summaries,
datacube dimensions, bands, classes, dates)."""

from __future__ import annotations

from typing import Any

from openeo_dedl.demo_data.specs import Band, CollectionSpec

SITE_FIELD = "federation:backends"


def eo_band(band: Band) -> dict[str, Any]:
    return {"name": band.name, "description": band.description, **(band.eo or {})}


def classes(band: Band) -> list[dict[str, Any]]:
    out = []
    for c in band.classes or ():
        entry: dict[str, Any] = {"value": c.value, "name": c.name, "description": c.description}
        if c.color_hint:
            entry["color_hint"] = c.color_hint
        out.append(entry)
    return out


def iso(day) -> str:
    return f"{day:%Y-%m-%d}T00:00:00Z"


def time_step(dates: list) -> str | None:
    """ISO 8601 duration between regularly spaced dates, None if irregular or single."""
    steps = {(b - a).days for a, b in zip(dates, dates[1:], strict=False)}
    return f"P{steps.pop()}D" if len(steps) == 1 else None


def summaries(spec: CollectionSpec, grids: list) -> dict[str, Any]:
    """The collection's STAC summaries: its site, bands, CRS, gsd and platform fields."""
    summaries: dict[str, Any] = {
        SITE_FIELD: [spec.site],
        "eo:bands": [eo_band(b) for b in spec.bands],
        "proj:code": sorted({g.crs for g in grids}),
    }
    projected = [g for g in grids if g.epsg != 4326]
    if projected:
        summaries["gsd"] = sorted({g.res for g in projected})
    for key in ("constellation", "platform", "instruments"):
        if key in spec.properties:
            value = spec.properties[key]
            summaries[key] = list(value) if isinstance(value, list) else [value]
    classified = [b for b in spec.bands if b.classes]
    if len(classified) == 1 and len(spec.bands) == 1:
        summaries["classification:classes"] = classes(classified[0])
    return summaries


def cube_dimensions(spec: CollectionSpec, grids: list, dates: list) -> dict[str, Any]:
    """The datacube extension's ``cube:dimensions`` of the collection's areas."""
    epsgs = {g.epsg for g in grids}
    assert len(epsgs) == 1, "a collection's areas share one CRS (cube:dimensions has one)"
    bounds = [g.bounds for g in grids]
    res = grids[0].res

    def spatial(axis: str, low: int, high: int) -> dict:
        extent = [min(b[low] for b in bounds), max(b[high] for b in bounds)]
        return {
            "type": "spatial",
            "axis": axis,
            "extent": extent,
            "step": res,
            "reference_system": grids[0].epsg,
        }

    return {
        "x": spatial("x", 0, 2),
        "y": spatial("y", 1, 3),
        "t": {
            "type": "temporal",
            "extent": [iso(dates[0]), iso(dates[-1])],
            "step": time_step(dates),
        },
        "bands": {"type": "bands", "values": [b.name for b in spec.bands]},
    }

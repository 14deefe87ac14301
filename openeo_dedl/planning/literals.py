"""Literal arguments that the run would refuse, found before it (pure: no I/O, no DNS).

Only values written into the graph are looked at (references are known only when it runs):
an ``apply_kernel`` kernel with an even number of rows or columns, date strings of
``date_shift``, ``date_difference`` and ``load_collection``'s ``temporal_extent`` that are not
RFC 3339 dates or date-times, location strings (``locations.LOCATION_PARAMETERS``, and
load_stac's ``url`` by ``locations.stac_location``; a load_stac url computed by another node)
that the data-access policy refuses whoever asks and whatever exists, and GeoJSON geometries that
shapely cannot build (as the run does for ``aggregate_spatial``, ``filter_spatial`` and
``mask_polygon``). Each error has the code that the run gives for the same value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openeo_dedl.errors import OpenEOError, ProcessException, ProcessParameterInvalid
from openeo_dedl.locations import (
    LOCATION_PARAMETERS,
    STAC_PARAMETERS,
    WORKSPACE_PARAMETERS,
    Refused,
    StacAllowList,
    UrlPrefix,
    refusal,
    stac_location,
    stac_refusal,
    static_refusal,
    workspace_errors,
)
from openeo_dedl.planning.dates import not_a_date, parse_date
from openeo_dedl.planning.stac import not_literal
from openeo_dedl.planning.walk import is_literal

# Date parameters whose literal strings the run parses with ``planning.dates.parse_date``.
# (``date_between`` is not here: the run answers false for values that are not dates.)
DATE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "date_shift": ("date",),
    "date_difference": ("date1", "date2"),
}


# Parameters whose GeoJSON the run turns into shapely geometries (``load_geojson`` does not:
# it passes geometries on as they are, so its run accepts what shapely refuses).
GEOMETRY_PARAMETERS: dict[str, str] = {
    "aggregate_spatial": "geometries",
    "apply_polygon": "geometries",
    "filter_spatial": "geometries",
    "mask_polygon": "mask",
}


def _invalid(node_id: str, pid: str, name: str, why: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(
        f"The value passed for parameter '{name}' in process '{pid}' (node '{node_id}') is "
        f"invalid: {why}."
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def kernel_problem(kernel: Any) -> OpenEOError | None:
    """KernelDimensionsUneven for a literal rectangular kernel of numbers with an even number
    of rows or columns (what openeo-processes-dask's ``apply_kernel`` raises); None otherwise
    (other shapes fail at run time in their own way)."""
    if not isinstance(kernel, list) or not kernel:
        return None
    if not all(isinstance(row, list) and row for row in kernel):
        return None
    width = len(kernel[0])
    if any(len(row) != width for row in kernel):
        return None
    if not all(_is_number(v) for row in kernel for v in row):
        return None
    if len(kernel) % 2 == 0 or width % 2 == 0:
        return ProcessException(
            "KernelDimensionsUneven",
            "Each dimension of the kernel must have an uneven number of elements.",
        )
    return None


def _geometries(value: dict) -> list[Any]:
    kind = value.get("type")
    if kind == "FeatureCollection":
        features = value.get("features")
        features = features if isinstance(features, list) else []
    elif kind == "Feature":
        features = [value]
    else:
        return [value]
    # A feature without a geometry object is refused at run time with its own message.
    return [
        f["geometry"]
        for f in features
        if isinstance(f, dict) and isinstance(f.get("geometry"), dict)
    ]


def geometry_problem(value: Any) -> str | None:
    """Why shapely cannot build the literal GeoJSON ``value`` (a geometry, Feature or
    FeatureCollection) as the run does; None when it can, or when ``value`` is not literal
    GeoJSON (a reference, a vector cube, a location string)."""
    if not isinstance(value, dict) or "type" not in value or not is_literal(value):
        return None
    import shapely.geometry
    from shapely.errors import ShapelyError

    for geometry in _geometries(value):
        try:
            shapely.geometry.shape(geometry)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, ShapelyError) as exc:
            reason = str(exc).strip().split("\n")[0][:200] or type(exc).__name__
            return f"not a GeoJSON geometry ({reason})"
    return None


def check_literals(
    node_id: str,
    pid: str,
    args: Mapping[str, Any],
    allowed_urls: tuple[UrlPrefix, ...] | None = None,
    stac_allowed: StacAllowList | None = None,
    workspaces: frozenset[str] | None = None,
) -> list[OpenEOError]:
    """What the run would refuse in the literal arguments ``args`` of node ``node_id`` (a call
    of ``pid``). ``allowed_urls``: the deployment's ``security.allowed_urls`` (None: not known,
    so URLs are checked for everything else); ``stac_allowed``: where load_stac may read
    (None: nothing); ``workspaces``: the export workspaces' ids (None: not known, not
    checked)."""
    errors: list[OpenEOError] = []
    if pid == "apply_kernel":
        problem = kernel_problem(args.get("kernel"))
        if problem is not None:
            errors.append(problem)
    for name in DATE_PARAMETERS.get(pid, ()):
        value = args.get(name)
        if isinstance(value, str) and parse_date(value) is None:
            errors.append(_invalid(node_id, pid, name, not_a_date(value)))
    if pid in STAC_PARAMETERS:
        name = STAC_PARAMETERS[pid]
        value = args.get(name)
        if isinstance(value, str):
            try:
                stac_location(value, stac_allowed or StacAllowList())
            except Refused:
                errors.append(stac_refusal(pid, name))
        elif isinstance(value, dict) and "from_node" in value:
            errors.append(not_literal(node_id))
    if pid in ("load_collection", "load_stac"):
        extent = args.get("temporal_extent")
        if isinstance(extent, list):
            for value in extent:
                if isinstance(value, str) and parse_date(value) is None:
                    errors.append(_invalid(node_id, pid, "temporal_extent", not_a_date(value)))
                    break
    if pid in GEOMETRY_PARAMETERS:
        name = GEOMETRY_PARAMETERS[pid]
        problem = geometry_problem(args.get(name))
        if problem is not None:
            errors.append(_invalid(node_id, pid, name, problem))
    for name in sorted(LOCATION_PARAMETERS.get(pid, ())):
        value = args.get(name)
        if isinstance(value, str) and static_refusal(value, allowed_urls) is not None:
            errors.append(refusal(pid, name))
    if pid in WORKSPACE_PARAMETERS:
        errors.extend(workspace_errors(args, workspaces))
    return errors

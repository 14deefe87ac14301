"""``load_geojson``: GeoJSON (RFC 7946) as the vector cube the cube processes here consume.

openeo-processes-dask's vector processes (``aggregate_spatial``, ``filter_spatial``,
``mask_polygon``) take GeoJSON FeatureCollections, so that is the vector cube's form here: a
FeatureCollection in WGS 84 whose features keep only the requested properties.
"""

from __future__ import annotations

from collections.abc import Callable

from openeo_dedl.errors import OpenEOError

_GEOMETRIES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
               "GeometryCollection"}  # fmt: skip


def _invalid(message: str) -> OpenEOError:
    return OpenEOError(message, code="ProcessParameterInvalid", status=400)


def load_geojson(data, properties=()):
    if not isinstance(data, dict) or "type" not in data:
        raise _invalid("load_geojson needs a GeoJSON object.")
    kind = data["type"]
    if kind in _GEOMETRIES:
        features = [{"type": "Feature", "geometry": data, "properties": {}}]
    elif kind == "Feature":
        features = [data]
    elif kind == "FeatureCollection":
        features = list(data.get("features", []))
    else:
        raise _invalid(f"'{kind}' is not a GeoJSON type.")
    wanted = list(properties or [])
    out = []
    for feature in features:
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") not in _GEOMETRIES:
            raise _invalid("Every GeoJSON feature needs a geometry.")
        props = feature.get("properties") or {}
        out.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {name: props.get(name) for name in wanted},
            }
        )
    return {"type": "FeatureCollection", "features": out}


def aggregate_spatial(data, geometries, reducer, target_dimension=None, context=None, **kwargs):
    """openeo-processes-dask's, with xvec's per-geometry loop in this thread.

    xvec runs its loop through joblib with ``n_jobs=-1``: loky worker processes, the cube
    pickled to them and a memory-mapping folder removed afterwards, seconds of overhead for a
    few regions, and work done outside the site's cluster. In this thread the loop only builds
    the lazy statistics, which the site's cluster computes.
    """
    import joblib
    from openeo_processes_dask.process_implementations.cubes.aggregate import (
        aggregate_spatial as upstream,
    )

    with joblib.parallel_config(backend="sequential"):
        return upstream(data=data, geometries=geometries, reducer=reducer, **kwargs)


def implementations() -> dict[str, Callable]:
    return {"load_geojson": load_geojson, "aggregate_spatial": aggregate_spatial}

"""``load_geojson``: GeoJSON (RFC 7946) as the vector cube the cube processes here consume.

openeo-processes-dask's vector processes (``aggregate_spatial``, ``filter_spatial``,
``mask_polygon``) take GeoJSON FeatureCollections, so that is the vector cube's form here: a
FeatureCollection in WGS 84 whose features keep only the requested properties.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from openeo_dedl.errors import ProcessException, ProcessParameterInvalid

GEOJSON_GEOMETRIES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                      "MultiPolygon", "GeometryCollection"}  # fmt: skip


def is_vector_cube(value) -> bool:
    """Whether ``value`` is a vector cube as the processes here take them: GeoJSON or a
    GeoDataFrame."""
    if isinstance(value, dict):
        return value.get("type") in {*GEOJSON_GEOMETRIES, "Feature", "FeatureCollection"}
    return type(value).__name__ == "GeoDataFrame"


def load_geojson(data, properties=()):
    if not isinstance(data, dict) or "type" not in data:
        raise ProcessParameterInvalid("load_geojson needs a GeoJSON object.")
    kind = data["type"]
    if kind in GEOJSON_GEOMETRIES:
        features = [{"type": "Feature", "geometry": data, "properties": {}}]
    elif kind == "Feature":
        features = [data]
    elif kind == "FeatureCollection":
        features = list(data.get("features", []))
    else:
        raise ProcessParameterInvalid(f"'{kind}' is not a GeoJSON type.")
    wanted = list(properties or [])
    out = []
    for feature in features:
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") not in GEOJSON_GEOMETRIES:
            raise ProcessParameterInvalid("Every GeoJSON feature needs a geometry.")
        props = feature.get("properties") or {}
        out.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {name: props.get(name) for name in wanted},
            }
        )
    return {"type": "FeatureCollection", "features": out}


def _geometries_frame(geometries, default_crs: str = "EPSG:4326"):
    """A GeoDataFrame of ``geometries``: GeoJSON (any geometry, Feature or FeatureCollection,
    WGS 84 unless it names a ``crs`` as openeo-processes-dask reads it), a GeoDataFrame or an
    xvec vector cube; None for anything else."""
    import geopandas as gpd
    from pyproj.exceptions import CRSError

    if isinstance(geometries, gpd.GeoDataFrame):
        return geometries
    if isinstance(geometries, xr.Dataset) and hasattr(geometries, "xvec"):
        return geometries.xvec.to_geodataframe()
    if not isinstance(geometries, dict):
        return None
    crs = geometries.get("crs") or {}
    if isinstance(crs, dict):
        crs = (crs.get("properties") or {}).get("name", default_crs)
    features = load_geojson(geometries)["features"]
    try:
        return gpd.GeoDataFrame.from_features(features, crs=crs)
    except (CRSError, ValueError, TypeError) as error:
        message = f"The geometries' crs {crs!r} is not a coordinate reference system."
        raise ProcessParameterInvalid(message) from error


def _zonal_part(data: xr.DataArray, inside: np.ndarray, reducer, y: str, x: str):
    """``reducer`` over the pixels ``inside`` one geometry (others NaN), within the geometry's
    bounding window: the cube's other pixels are not touched."""
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if rows.size == 0:
        # No pixel inside: one NaN pixel, so the reducer sees no valid value (as with a
        # whole grid of NaN) rather than an empty array.
        rows, cols = np.array([0]), np.array([0])
    window = {y: slice(rows[0], rows[-1] + 1), x: slice(cols[0], cols[-1] + 1)}
    mask = xr.DataArray(inside[window[y], window[x]], dims=(y, x))
    masked = data.isel(window).where(mask)
    return masked.reduce(reducer, dim=(y, x), keep_attrs=True, positional_parameters={"data": 0})


def aggregate_spatial(data, geometries, reducer, target_dimension=None, context=None, **kwargs):
    """``aggregate_spatial`` as openeo-processes-dask computes it (xvec's ``iterate``: per
    geometry, the reducer over the pixels whose centre is inside it, NaN elsewhere), as lazy
    statistics for the site's cluster.

    xvec's loop runs through joblib with ``n_jobs=-1`` (loky processes, the cube pickled to
    them, a memory-mapping folder removed afterwards) and calls ``gc.collect()`` per geometry:
    together seconds for a few regions, spent in the API process. Here the loop runs in this
    thread, reads only each geometry's bounding window, and collects no garbage.
    """
    import rasterio.features
    import xvec  # noqa: F401 - the .xvec accessor

    gdf = _geometries_frame(geometries)
    if gdf is None:
        # openeo-processes-dask's aggregate_spatial would urlopen() a string: never call it. A
        # string naming a user file or an allowed URL was read by the registry's wrapper
        # (execution/access.py) before reaching here.
        raise ProcessParameterInvalid("The geometries must be GeoJSON or a vector data cube.")
    y, x = data.openeo.y_dim, data.openeo.x_dim
    if y is None or x is None:
        raise ProcessException(
            "DimensionMissing",
            f"aggregate_spatial needs a cube with spatial dimensions, not {tuple(data.dims)}.",
        )
    geoms = list(gdf.to_crs(data.rio.crs).geometry.values)
    transform = data.rio.transform()
    parts = [
        _zonal_part(
            data,
            rasterio.features.geometry_mask(
                [geom],
                out_shape=(data.sizes[y], data.sizes[x]),
                transform=transform,
                invert=True,
                all_touched=False,
            ),
            reducer,
            y,
            x,
        )
        for geom in geoms
    ]
    cube = xr.concat(parts, dim=xr.DataArray(geoms, name="geometry", dims="geometry"))
    return cube.xvec.set_geom_indexes("geometry", crs=None).transpose("geometry", ...)


def implementations() -> dict[str, Callable]:
    return {"load_geojson": load_geojson, "aggregate_spatial": aggregate_spatial}

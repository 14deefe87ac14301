"""``mask_polygon`` and ``filter_spatial`` as the spec defines them (unlike openeo-processes-dask).

openeo-processes-dask's ``mask_polygon`` passes ``invert=inside`` to rasterio, so an explicit
``inside: false`` (the spec's default) blanks the pixels *inside* the polygons; it also fails on
numpy-backed cubes (it reads ``data.chunks``), on cubes without both a time and a band dimension
and on GeoJSON Features. Its ``filter_spatial`` inherits that and crops in WGS 84 degrees.

Here the geometries (GeoJSON in WGS 84, or a GeoDataFrame with its CRS) are reprojected to the
cube's CRS and rasterized on its grid: a pixel is inside a polygon if its centre is, and it is
hit by a point or a line if its cell contains a point of the geometry (the pixel whose centre is
closest). The mask is a 2-D (y, x) array that broadcasts over the cube's other dimensions, so
dask-backed cubes stay lazy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import rioxarray  # noqa: F401 - the .rio accessor
import xarray as xr

from openeo_dedl.errors import ProcessException, ProcessParameterInvalid
from openeo_dedl.planning.extents import WGS84, BoundingBox, bounding_box, normalise_crs
from openeo_dedl.planning.pixels import SNAP, in_grid_crs, to_wgs84

_POLYGONS = ("Polygon", "MultiPolygon")


def _geodataframe(geometries, crs):
    """The geometries (GeoJSON geometry, Feature, FeatureCollection or GeoDataFrame) in ``crs``,
    without empty ones."""
    import geopandas as gpd

    if isinstance(geometries, gpd.GeoSeries):
        geometries = gpd.GeoDataFrame(geometry=geometries)
    if isinstance(geometries, gpd.GeoDataFrame):
        gdf = geometries if geometries.crs is not None else geometries.set_crs(WGS84)
    elif isinstance(geometries, dict) and "type" in geometries:
        kind = geometries["type"]
        if kind == "FeatureCollection":
            features = list(geometries.get("features") or [])
        elif kind == "Feature":
            features = [geometries]
        else:
            features = [{"type": "Feature", "geometry": geometries, "properties": {}}]
        for feature in features:
            if not isinstance(feature, dict) or not isinstance(feature.get("geometry"), dict):
                raise ProcessParameterInvalid("Every GeoJSON feature needs a geometry.")
        features = [{**f, "properties": f.get("properties") or {}} for f in features]
        gdf = gpd.GeoDataFrame.from_features(features, crs=WGS84)
    else:
        raise ProcessParameterInvalid("The geometries must be GeoJSON or a vector data cube.")
    if crs is not None and gdf.crs is not None:
        gdf = gdf.to_crs(crs)
    return gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]


def _spatial_dims(data: xr.DataArray) -> tuple[str, str]:
    try:
        return data.rio.x_dim, data.rio.y_dim
    except Exception:  # noqa: BLE001 - rioxarray raises its own error types
        pass
    x, y = getattr(data.openeo, "x_dim", None), getattr(data.openeo, "y_dim", None)
    if x is None or y is None:
        raise ProcessException("DimensionMissing", "The data cube has no spatial dimensions.")
    return x, y


def _regular_transform(xs: np.ndarray, ys: np.ndarray):
    """The affine transform of pixel corners for regularly spaced centres (None otherwise)."""
    from affine import Affine

    if len(xs) < 2 or len(ys) < 2:
        return None
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    if not (np.allclose(np.diff(xs), dx) and np.allclose(np.diff(ys), dy)):
        return None
    return Affine(dx, 0, xs[0] - dx / 2, 0, dy, ys[0] - dy / 2)


def _cell_size(coords: np.ndarray) -> float:
    return float(np.median(np.abs(np.diff(coords)))) if len(coords) > 1 else 0.0


def geometry_hits(gdf, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Boolean (y, x) mask of the pixels hit by the geometries: centre inside a polygon, or the
    cell containing a point of a point or line."""
    import rasterio.features
    import shapely

    hits = np.zeros((len(ys), len(xs)), dtype=bool)
    if len(xs) == 0 or len(ys) == 0 or gdf.empty:
        return hits
    geoms = list(gdf.geometry)
    areal = [g for g in geoms if g.geom_type in _POLYGONS]
    other = [g for g in geoms if g.geom_type not in _POLYGONS]
    transform = _regular_transform(xs, ys)
    if transform is not None:
        shape = (len(ys), len(xs))
        if areal:
            hits |= rasterio.features.geometry_mask(
                areal, out_shape=shape, transform=transform, invert=True
            )
        if other:
            hits |= rasterio.features.geometry_mask(
                other, out_shape=shape, transform=transform, invert=True, all_touched=True
            )
        return hits
    # Irregular or one-pixel-wide grids: test the pixel centres (and cells) directly.
    gx, gy = np.meshgrid(xs, ys)
    if areal:
        hits |= shapely.intersects_xy(shapely.union_all(areal), gx, gy)
    if other:
        hx, hy = _cell_size(xs) / 2, _cell_size(ys) / 2
        union = shapely.union_all(other)
        cells = shapely.box(gx - hx, gy - hy, gx + hx, gy + hy)
        hits |= shapely.intersects(cells, union)
    return hits


def _mask_array(data: xr.DataArray, keep: np.ndarray, x: str, y: str, replacement):
    keep = xr.DataArray(keep, dims=(y, x), coords={y: data[y], x: data[x]})
    # The spec: no-data values are left untouched (a replacement does not fill them).
    keep = keep | data.isnull()
    out = data.where(keep, np.nan if replacement is None else replacement)
    out.attrs = data.attrs
    return out


def mask_polygon(data, mask, replacement=None, inside=False):
    x, y = _spatial_dims(data)
    gdf = _geodataframe(mask, data.rio.crs or WGS84)
    if not all(g.geom_type in _POLYGONS for g in gdf.geometry):
        raise ProcessParameterInvalid("mask_polygon needs Polygon or MultiPolygon geometries.")
    hits = geometry_hits(gdf, data[x].values, data[y].values)
    return _mask_array(data, ~hits if inside else hits, x, y, replacement)


def filter_spatial(data, geometries):
    x, y = _spatial_dims(data)
    gdf = _geodataframe(geometries, data.rio.crs or WGS84)
    xs, ys = data[x].values, data[y].values
    if gdf.empty:
        return data.isel({x: slice(0, 0), y: slice(0, 0)})
    # Pixels outside the geometries' bounding box go; retained pixels stay, the rest of the box
    # becomes no-data. The mask is computed on the box (grown by half a pixel, for the pixel
    # containing a point on its edge) only.
    west, south, east, north = gdf.total_bounds
    hx, hy = _cell_size(xs) / 2, _cell_size(ys) / 2
    near_x = np.flatnonzero((xs >= west - hx) & (xs <= east + hx))
    near_y = np.flatnonzero((ys >= south - hy) & (ys <= north + hy))
    window = data.isel({x: near_x, y: near_y})
    wxs, wys = xs[near_x], ys[near_y]
    hits = geometry_hits(gdf, wxs, wys)
    # Centres in the geometries' box as filter_bbox has it (east/north edges out), and every
    # pixel a geometry hits (a point on the east edge hits the pixel it lies in).
    cols = centre_mask(wxs, west, east) | hits.any(axis=0)
    rows = centre_mask(wys, south, north) | hits.any(axis=1)
    out = _mask_array(window, hits, x, y, None)
    return out.isel({x: np.flatnonzero(cols), y: np.flatnonzero(rows)})


def centre_mask(coords: np.ndarray, low: float, high: float) -> np.ndarray:
    """Which pixel centres ``coords`` lie in [low, high) (planning/pixels.py's rule, with its
    tolerance of a millionth of a pixel for coordinates that are not exact)."""
    tol = SNAP * _cell_size(coords)
    return (coords >= low - tol) & (coords < high - tol)


def _crs_name(data: xr.DataArray) -> str | None:
    crs = data.rio.crs
    if crs is None:
        return None
    code = crs.to_epsg()
    return f"EPSG:{code}" if code is not None else normalise_crs(crs.to_wkt())


def filter_bbox(data, extent):
    """The pixels whose centre lies in ``extent`` (west/south edges in, east/north out), the
    box projected to the cube's CRS after it is clipped, in WGS84, to the cube's footprint."""
    if not isinstance(data, xr.DataArray):
        from openeo_dedl.execution.registry import standard_implementation

        return standard_implementation("filter_bbox")(data=data, extent=extent)
    box = bounding_box(extent, "filter_bbox", "extent")
    if box is None:
        raise ProcessParameterInvalid(
            "filter_bbox needs a bounding box with west, south, east and north."
        )
    x, y = _spatial_dims(data)
    xs, ys = data[x].values, data[y].values
    crs = _crs_name(data) or WGS84
    if len(xs) and len(ys):
        hx, hy = _cell_size(xs) / 2, _cell_size(ys) / 2
        own = BoundingBox(
            float(xs.min() - hx),
            float(ys.min() - hy),
            float(xs.max() + hx),
            float(ys.max() + hy),
            crs,
        )
        native = in_grid_crs(box, crs, to_wgs84(own))
    else:
        native = None
    if native is None:
        return data.isel({x: slice(0, 0), y: slice(0, 0)})
    cols = np.flatnonzero(centre_mask(xs, native[0], native[2]))
    rows = np.flatnonzero(centre_mask(ys, native[1], native[3]))
    return data.isel({x: cols, y: rows})


def implementations() -> dict[str, Callable]:
    return {
        "mask_polygon": mask_polygon,
        "filter_spatial": filter_spatial,
        "filter_bbox": filter_bbox,
    }

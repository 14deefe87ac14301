"""Administrative-region-like polygons over the AOIs, for per-region aggregation use cases.

Real district/province borders are not needed (nor available offline); these are Voronoi cells
of jittered seed points, clipped to the AOI's lon/lat bounding box, so they tile it without gaps
or overlaps, have irregular shared borders, and scale with the catalog size's AOI.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPoint, box, mapping

from openeo_dedl.demo_data.grid import Grid
from openeo_dedl.demo_data.noise import seed

PAKISTAN_DISTRICTS = (
    "Larkana",
    "Qambar Shahdadkot",
    "Khairpur",
    "Dadu",
    "Naushahro Feroze",
    "Shaheed Benazirabad",
)
PO_VALLEY_PROVINCES = ("Pavia", "Lodi", "Cremona", "Piacenza", "Parma", "Reggio Emilia")


def _rounded(geom) -> dict:
    """GeoJSON geometry with coordinates rounded to 1e-6° (about 0.1 m) for stable output."""
    return mapping(shapely.set_precision(geom, 1e-6))


def region_features(grid: Grid, names: tuple[str, ...], country: str, prefix: str) -> list[dict]:
    """One feature per name: Voronoi cells over the grid's lon/lat bbox, west-east rows."""
    w, s, e, n = grid.bbox_wgs84()
    cols, rows = (len(names) + 1) // 2, 2
    rng = np.random.default_rng(seed("regions", prefix))
    points = []
    for r in range(rows):
        for c in range(cols):
            if len(points) == len(names):
                break
            # Jittered lattice: every cell gets one seed, so no region is tiny or empty.
            fx = (c + 0.5 + rng.uniform(-0.3, 0.3)) / cols
            fy = (r + 0.5 + rng.uniform(-0.3, 0.3)) / rows
            points.append((w + fx * (e - w), n - fy * (n - s)))
    frame = box(w, s, e, n)
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=frame)
    features = []
    for i, (name, point) in enumerate(zip(names, points, strict=True)):
        cell = next(c for c in cells.geoms if c.contains(shapely.Point(point)))
        region_id = f"{prefix}-{i + 1:02d}"
        features.append(
            {
                "type": "Feature",
                "id": region_id,
                "properties": {"id": region_id, "name": name, "country": country},
                "geometry": _rounded(cell.intersection(frame)),
            }
        )
    return features


def write_regions(root: Path, pakistan_grid: Grid, po_grid: Grid) -> list[Path]:
    """Write ``regions/pakistan_districts.geojson`` and ``regions/po_valley_provinces.geojson``."""
    out_dir = root / "regions"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, grid, names, country, prefix in (
        ("pakistan_districts.geojson", pakistan_grid, PAKISTAN_DISTRICTS, "Pakistan", "PK"),
        ("po_valley_provinces.geojson", po_grid, PO_VALLEY_PROVINCES, "Italy", "IT"),
    ):
        doc = {
            "type": "FeatureCollection",
            "name": filename.removesuffix(".geojson"),
            "features": region_features(grid, names, country, prefix),
        }
        path = out_dir / filename
        path.write_text(json.dumps(doc, indent=1) + "\n")
        written.append(path)
    return written

"""What both example scripts share: arguments, running a stored graph on a server, region maps."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import geopandas as gpd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import openeo  # noqa: E402
import requests  # noqa: E402
from graphs import adapt_graph, read_graph, use_case_extents  # noqa: E402


def parse_args(description: str, default_out: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "url",
        nargs="?",
        default="http://127.0.0.1:8000",
        help="openeo-dedl server (default: %(default)s, where `make serve` listens)",
    )
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="demo")
    parser.add_argument("--out", default=default_out, help="output directory")
    parser.add_argument(
        "--regions",
        help="GeoJSON FeatureCollection of the regions (default: those stored in the graph; "
        "pass the demo catalog's regions/*.geojson for another catalog size)",
    )
    return parser.parse_args()


def connect(args: argparse.Namespace) -> openeo.Connection:
    """The authenticated connection; exits with a hint when no server answers at the URL."""
    try:
        return openeo.connect(args.url).authenticate_basic(args.user, args.password)
    except requests.ConnectionError:
        sys.exit(
            f"no openeo-dedl server answers at {args.url}: start one with `make serve` "
            "(http://127.0.0.1:8000) or pass the URL of yours as the first argument"
        )


def prepared_graph(
    connection: openeo.Connection, path: Path, use_case: str, regions_file: str | None
) -> tuple[dict, dict]:
    """The stored graph for the server's catalog: loads read the extents its collections
    report, the aggregation uses ``regions_file`` (if given). Returns (graph, regions)."""
    graph = read_graph(path)
    regions = json.loads(Path(regions_file).read_text()) if regions_file else None
    extents = use_case_extents(connection.describe_collection)[use_case]
    graph = adapt_graph(graph, extents, regions)
    if regions is None:
        (node,) = [n for n in graph.values() if n["process_id"] == "aggregate_spatial"]
        regions = node["arguments"]["geometries"]
    return graph, regions


def run(connection: openeo.Connection, graph: dict, out_dir: Path) -> tuple[dict, dict]:
    """Run ``graph`` synchronously; write ``result.json`` and ``usage.json`` (the server's
    ``OpenEO-DEDL-Usage``: bytes that crossed sites, transfers, seconds per site)."""
    response = connection.post(
        "/result", json={"process": {"process_graph": graph}}, expected_status=200, timeout=1800
    )
    result = response.json()
    usage = json.loads(response.headers.get("OpenEO-DEDL-Usage", "{}"))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    (out_dir / "usage.json").write_text(json.dumps(usage, indent=1) + "\n")
    return result, usage


def band_values(result: dict, band: str):
    """One band of a JSON vector-cube result ({dims, coords, data}) as a numpy array over the
    remaining dimensions (geometry first)."""
    import numpy as np

    data = np.array(result["data"], dtype="float64")  # null -> nan
    axis = result["dims"].index("bands")
    return np.take(data, result["coords"]["bands"].index(band), axis=axis)


def regions_frame(regions: dict) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame.from_features(regions["features"], crs="EPSG:4326")


def last_day(end: str) -> str:
    """The last day of an openEO interval ending (exclusively) at the date ``end``."""
    return (dt.date.fromisoformat(end) - dt.timedelta(days=1)).isoformat()


def choropleth(
    frame: gpd.GeoDataFrame, column: str, title: str, label: str, path: Path, cmap: str, **kw
) -> None:
    """A map of ``frame`` coloured by ``column``, each region labelled with its name."""
    # As high as the map needs (geopandas draws lon/lat with an aspect of 1/cos(latitude)):
    # a fixed height left wide margins above and below a flat region.
    west, south, east, north = frame.total_bounds
    aspect = 1 / math.cos(math.radians((south + north) / 2))
    height = min(9.0, max(3.5, 5.4 * (north - south) * aspect / (east - west) + 1.6))
    # Constrained layout keeps the colour bar and a title of two lines inside the figure.
    fig, ax = plt.subplots(figsize=(7, height), layout="constrained")
    frame.plot(column=column, ax=ax, cmap=cmap, edgecolor="black", legend=True, **kw)
    ax.figure.axes[-1].set_ylabel(label)
    for _, row in frame.iterrows():
        point = row.geometry.representative_point()
        ax.annotate(row["name"], (point.x, point.y), ha="center", fontsize=8)
    # A title wider than the map would be cut at the figure's edge: wrapped instead.
    ax.set_title("\n".join(textwrap.wrap(title, 48)))
    ax.set_xlabel("longitude [°]")
    ax.set_ylabel("latitude [°]")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def print_usage(usage: dict) -> None:
    moved = usage.get("cross_site_bytes", {}).get("value")
    print(f"bytes crossing sites: {moved}")
    for t in usage.get("transfers", []):
        print(f"  {t['node']}: {t['from_site']} -> {t['to_site']}, {t['bytes']} bytes")

"""Random process graphs of real openEO processes over collections at random sites.

Used by the property tests (choices drawn by hypothesis, so failures shrink) and by
``bench/plan_scaling.py`` (choices from ``random.Random``). Graphs are valid openEO: every
process gets the arguments its spec requires and cubes keep track of their dimensions, so that a
reduction over time only follows a cube that still has time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from openeo_dedl.planning import BandFacts, CollectionFacts, ItemFacts

SITES = ("central", "lumi", "leonardo")


class Chooser(Protocol):
    def choice(self, options: Sequence[Any]) -> Any: ...

    def integer(self, low: int, high: int) -> int: ...


class RandomChooser:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def choice(self, options: Sequence[Any]) -> Any:
        return self.rng.choice(list(options))

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


class HypothesisChooser:
    def __init__(self, data):
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def choice(self, options: Sequence[Any]) -> Any:
        return self.data.draw(self.st.sampled_from(list(options)))

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(self.st.integers(low, high))


# -- facts --------------------------------------------------------------------------------------

START = datetime(2022, 8, 1, tzinfo=UTC)


def _nodata(dtype: str, index: int) -> int | None:
    if dtype.startswith("float") or index % 2:
        return None
    return 255 if dtype == "uint8" else 0


def random_facts(pick: Chooser, collection_id: str, layout: str | None = None) -> CollectionFacts:
    """A collection at one site, at several (replicas), or with items spread over sites."""
    if layout is None:
        layout = pick.choice(["one", "one", "replicas", "items_by_time", "items_by_area"])
    days = pick.integer(2, 12)
    times = tuple(START + timedelta(days=3 * i) for i in range(days))
    side = pick.choice([60, 600, 3000])
    # Integer bands with a nodata value (loaded as floats with NaN for no-data, see
    # execution/nodata.py: b0, b2) and without (b1, b3), float bands with NaN. The nodata value
    # follows from the band's position, not from a pick: seeded examples keep their graphs.
    bands = tuple(
        BandFacts(f"b{i}", dtype, _nodata(dtype, i))
        for i, dtype in enumerate(
            pick.choice(["uint8", "uint16", "float32"]) for _ in range(pick.integer(1, 4))
        )
    )
    home = pick.choice(SITES)
    sites: tuple[str, ...] = (home,)
    items = None
    bbox = (10.0, 40.0, 12.0, 42.0)
    if layout == "replicas":
        sites = (home, pick.choice([s for s in SITES if s != home]))
    elif layout == "items_by_time":
        other = pick.choice([s for s in SITES if s != home])
        cut = pick.integer(1, days - 1)
        items = tuple(
            ItemFacts(sites=(home if i < cut else other,), bbox=bbox, time=t)
            for i, t in enumerate(times)
        )
    elif layout == "items_by_area":
        other = pick.choice([s for s in SITES if s != home])
        west, east = (10.0, 40.0, 11.0, 42.0), (11.0, 40.0, 12.0, 42.0)
        items = tuple(
            ItemFacts(sites=(site,), bbox=box, time=t)
            for t in times
            for site, box in ((home, west), (other, east))
        )
    return CollectionFacts(
        id=collection_id,
        sites=sites,
        bbox=bbox,
        crs="EPSG:4326",
        native_bbox=bbox,
        resolution=(2.0 / side, 2.0 / side),
        times=times,
        bands=bands,
        items=items,
    )


# -- graphs -------------------------------------------------------------------------------------


def callback(process_id: str, **extra: Any) -> dict:
    return {
        "process_graph": {
            "r": {
                "process_id": process_id,
                "arguments": {"data": {"from_parameter": "data"}, **extra},
                "result": True,
            }
        }
    }


def apply_callback(process_id: str) -> dict:
    args: dict[str, Any] = {"x": {"from_parameter": "x"}}
    if process_id == "multiply":
        args["y"] = 2
    return {"process_graph": {"r": {"process_id": process_id, "arguments": args, "result": True}}}


@dataclass
class Cube:
    node: str
    dims: frozenset[str]
    bands: tuple[str, ...]


@dataclass
class GraphBuilder:
    pick: Chooser
    collections: dict[str, tuple[str, ...]]  # collection id → band names
    nodes: dict[str, dict] = field(default_factory=dict)
    cubes: list[Cube] = field(default_factory=list)

    def add(self, process_id: str, arguments: dict) -> str:
        node_id = f"n{len(self.nodes)}"
        self.nodes[node_id] = {"process_id": process_id, "arguments": arguments}
        return node_id

    def load(self) -> Cube:
        cid = self.pick.choice(sorted(self.collections))
        bands = self.collections[cid]
        args: dict[str, Any] = {"id": cid, "spatial_extent": None, "temporal_extent": None}
        if self.pick.integer(0, 1):
            args["spatial_extent"] = {"west": 10.0, "south": 40.0, "east": 10.5, "north": 41.0}
        if self.pick.integer(0, 1):
            args["temporal_extent"] = ["2022-08-01", "2022-08-20"]
        if self.pick.integer(0, 1):
            bands = bands[: self.pick.integer(1, len(bands))]
            args["bands"] = list(bands)
        cube = Cube(self.add("load_collection", args), frozenset({"x", "y", "t", "bands"}), bands)
        self.cubes.append(cube)
        return cube

    def step(self) -> None:
        if not self.cubes or self.pick.integer(0, 5) == 0:
            self.load()
            return
        cube = self.pick.choice(self.cubes)
        ops = ["apply", "filter_bbox", "constant_math"]
        if "t" in cube.dims:
            ops += ["reduce_t", "reduce_t", "filter_temporal", "aggregate_temporal_period"]
        if "bands" in cube.dims:
            ops += ["reduce_bands", "filter_bands"]
        if {"x", "y"} <= cube.dims:
            ops += ["resample_spatial", "aggregate_spatial", "combine", "combine"]
        op = self.pick.choice(ops)
        data = {"from_node": cube.node}
        dims, bands = cube.dims, cube.bands
        if op == "apply":
            fn = self.pick.choice(["absolute", "multiply", "sqrt"])
            node = self.add("apply", {"data": data, "process": apply_callback(fn)})
        elif op == "filter_bbox":
            extent = {"west": 10.0, "south": 40.0, "east": 10.2, "north": 40.5}
            node = self.add("filter_bbox", {"data": data, "extent": extent})
        elif op == "constant_math":
            k = self.add("add", {"x": self.pick.integer(1, 9), "y": 1})
            node = self.add("multiply", {"x": data, "y": {"from_node": k}})
        elif op == "reduce_t":
            reducer = callback(self.pick.choice(["mean", "max", "min", "sum", "median"]))
            node = self.add(
                "reduce_dimension", {"data": data, "dimension": "t", "reducer": reducer}
            )
            dims = dims - {"t"}
        elif op == "filter_temporal":
            node = self.add("filter_temporal", {"data": data, "extent": ["2022-08-04", None]})
        elif op == "aggregate_temporal_period":
            node = self.add(
                "aggregate_temporal_period",
                {"data": data, "period": "week", "reducer": callback("mean")},
            )
        elif op == "reduce_bands":
            reducer = callback(self.pick.choice(["mean", "max"]))
            node = self.add(
                "reduce_dimension", {"data": data, "dimension": "bands", "reducer": reducer}
            )
            dims, bands = dims - {"bands"}, ()
        elif op == "filter_bands":
            bands = bands[:1]
            node = self.add("filter_bands", {"data": data, "bands": list(bands)})
        elif op == "resample_spatial":
            res = self.pick.choice([0.01, 0.05, 0.001])
            node = self.add("resample_spatial", {"data": data, "resolution": res})
        elif op == "aggregate_spatial":
            geometries = {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Point", "coordinates": [10.1 + i / 10, 40.5]},
                    }
                    for i in range(self.pick.integer(1, 5))
                ],
            }
            node = self.add(
                "aggregate_spatial",
                {"data": data, "geometries": geometries, "reducer": callback("mean")},
            )
            dims = (dims - {"x", "y"}) | {"geometries"}
        else:  # combine with another raster cube
            others = [c for c in self.cubes if c.node != cube.node and {"x", "y"} <= c.dims]
            if not others:
                self.load()
                return
            other = self.pick.choice(others)
            how = self.pick.choice(["merge_cubes", "mask", "resample_cube_spatial"])
            if how == "merge_cubes":
                node = self.add("merge_cubes", {"cube1": data, "cube2": {"from_node": other.node}})
                dims = dims | other.dims
                bands = bands + tuple(b for b in other.bands if b not in bands)
            elif how == "mask":
                node = self.add("mask", {"data": data, "mask": {"from_node": other.node}})
            else:
                node = self.add(
                    "resample_cube_spatial",
                    {"data": data, "target": {"from_node": other.node}, "method": "near"},
                )
        self.cubes.append(Cube(node, frozenset(dims), bands))

    def finish(self) -> dict:
        last = self.cubes[-1]
        save = self.add("save_result", {"data": {"from_node": last.node}, "format": "netCDF"})
        self.nodes[save]["result"] = True
        return self.nodes


def random_graph(
    pick: Chooser, size: int, collections: dict[str, tuple[str, ...]]
) -> dict[str, dict]:
    """A flat process graph of about ``size`` nodes (one ``save_result`` is the result)."""
    builder = GraphBuilder(pick, collections)
    while len(builder.nodes) < size - 1:
        builder.step()
    return builder.finish()


def random_setup(pick: Chooser, size: int, n_collections: int = 4):
    """(process graph, collection facts) for a random graph over random collections."""
    facts = {f"C{i}": random_facts(pick, f"C{i}") for i in range(n_collections)}
    bands = {cid: tuple(b.name for b in f.bands) for cid, f in facts.items()}
    return random_graph(pick, size, bands), facts

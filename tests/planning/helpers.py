"""Small builders for process-graph nodes and collection facts in planning tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from openeo_dedl.planning import BandFacts, CollectionFacts, ItemFacts
from tests.support.graphs import reducer  # noqa: F401 - re-exported

DAY0 = datetime(2022, 8, 1, tzinfo=UTC)
BBOX = (10.0, 40.0, 11.0, 41.0)


def day(i: int) -> datetime:
    return DAY0 + timedelta(days=i)


def iso(i: int) -> str:
    return day(i).strftime("%Y-%m-%d")


def facts(
    cid: str,
    *sites: str,
    side: int = 100,
    days: int = 10,
    bands: tuple[tuple[str, str], ...] = (("b1", "float32"), ("b2", "float32")),
    items: tuple[ItemFacts, ...] | None = None,
) -> CollectionFacts:
    """A collection of ``side`` × ``side`` pixels over BBOX, one time step a day."""
    return CollectionFacts(
        id=cid,
        sites=sites,
        bbox=BBOX,
        crs="EPSG:4326",
        native_bbox=BBOX,
        resolution=(1.0 / side, 1.0 / side),
        times=tuple(day(i) for i in range(days)),
        bands=tuple(BandFacts(n, d) for n, d in bands),
        items=items,
    )


def items_by_day(sites_of_day: list[str], bbox=BBOX) -> tuple[ItemFacts, ...]:
    return tuple(ItemFacts((s,), bbox, day(i)) for i, s in enumerate(sites_of_day))


def load(cid: str, **arguments: Any) -> dict:
    return {"process_id": "load_collection", "arguments": {"id": cid, **arguments}}


def reduce(node: str, dimension: str = "t", fn: str = "mean", **extra: Any) -> dict:
    return {
        "process_id": "reduce_dimension",
        "arguments": {
            "data": {"from_node": node},
            "dimension": dimension,
            "reducer": reducer(fn),
            **extra,
        },
    }


def node(process_id: str, **arguments: Any) -> dict:
    """A node; ``name_from="x"`` style keyword values ``"@x"`` become ``{"from_node": "x"}``."""
    args = {
        k: {"from_node": v[1:]} if isinstance(v, str) and v.startswith("@") else v
        for k, v in arguments.items()
    }
    return {"process_id": process_id, "arguments": args}


def save(source: str) -> dict:
    return {
        "process_id": "save_result",
        "arguments": {"data": {"from_node": source}, "format": "netCDF"},
        "result": True,
    }

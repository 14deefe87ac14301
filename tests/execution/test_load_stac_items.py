"""load_stac of an Item or a Catalog inside a configured static catalog (a copy of the demo
catalog with a sub-catalog and one item held at another site than its collection): an item is
its collection within the item's time and footprint (values equal load_collection's and the
files' as rasterio reads them), planned at the item's site; a catalog holding one collection is
that collection; one holding several is refused, naming them."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import rasterio

from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings
from openeo_dedl.errors import NoDataFound
from tests.planning.test_demo_runs import run_prepared

S1 = "S1_SSM"
S2 = "SENTINEL2_L2A"
# An S2 item whose federation:backends the fixture sets to lumi (its collection is at central).
MOVED = "SENTINEL2_L2A_bolzano_north_20220609"


def _edit(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def tree(demo_catalog_dir, tmp_path_factory) -> Path:
    """The demo catalog with S1_SSM below a sub-catalog ``italy/catalog.json`` and the item
    MOVED held at lumi."""
    root = tmp_path_factory.mktemp("items") / "catalog"
    shutil.copytree(demo_catalog_dir, root)

    def to_italy(doc):
        for link in doc["links"]:
            if link["rel"] == "child" and link["href"] == f"./{S1}/collection.json":
                link["href"] = "./italy/catalog.json"

    _edit(root / "catalog.json", to_italy)
    (root / "italy").mkdir()
    (root / "italy" / "catalog.json").write_text(
        json.dumps(
            {
                "type": "Catalog",
                "stac_version": "1.0.0",
                "id": "italy",
                "description": "Po valley",
                "links": [
                    {"rel": "root", "href": "../catalog.json"},
                    {"rel": "parent", "href": "../catalog.json"},
                    {"rel": "child", "href": f"../{S1}/collection.json"},
                ],
            }
        )
    )
    _edit(
        root / S2 / MOVED / f"{MOVED}.json",
        lambda doc: doc["properties"].update({"federation:backends": ["lumi"]}),
    )
    return root


@pytest.fixture(scope="module")
def backend(tree, tmp_path_factory):
    backend = Backend(Settings(data_dir=tmp_path_factory.mktemp("data"), demo_catalog_dir=tree))
    yield backend
    backend.close()


def _graph(process_id: str, **arguments) -> dict:
    return {
        "process_graph": {"l": {"process_id": process_id, "arguments": arguments, "result": True}}
    }


def _item(tree: Path, collection: str, item: str) -> tuple[str, dict]:
    path = tree / collection / item / f"{item}.json"
    return str(path), json.loads(path.read_text())


def _day(doc: dict) -> list[str]:
    day = date.fromisoformat(doc["properties"]["datetime"][:10])
    return [day.isoformat(), (day + timedelta(days=1)).isoformat()]


def _box(doc: dict) -> dict:
    w, s, e, n = doc["bbox"]
    return {"west": w, "south": s, "east": e, "north": n}


@pytest.mark.parametrize(
    ("collection", "item", "site"),
    [
        (S1, "S1_SSM_po_valley_20200104", "leonardo"),
        ("ERA5_LAND", "ERA5_LAND_po_valley_20200115", "lumi"),
        (S2, MOVED, "lumi"),  # the item's own site, not its collection's (central)
    ],
)
def test_an_item_is_its_collection_within_its_time_and_footprint(
    backend, tree, collection, item, site
):
    url, doc = _item(tree, collection, item)
    by_stac = backend.prepare(_graph("load_stac", url=url), user="demo").valid()
    by_id = backend.prepare(
        _graph(
            "load_collection", id=collection, temporal_extent=_day(doc), spatial_extent=_box(doc)
        ),
        user="demo",
    ).valid()
    plan, a = run_prepared(backend, by_stac)
    plan_id, b = run_prepared(backend, by_id)
    assert [load["site"] for load in plan.to_dict()["loads"]] == [site]
    assert [load["site"] for load in plan_id.to_dict()["loads"]] == [site]
    assert a.dims == b.dims and a.shape == b.shape and a.sizes["t"] == 1
    assert list(a["bands"].values) == list(b["bands"].values)
    values = np.asarray(a.values, dtype=float)
    assert np.isfinite(values).any()
    np.testing.assert_array_equal(values, np.asarray(b.values, dtype=float))
    # And what the files hold (nodata as NaN), band by band.
    for i, band in enumerate(a["bands"].values):
        href = (Path(url).parent / doc["assets"][str(band)]["href"]).resolve()
        with rasterio.open(href) as f:
            raw = f.read(1).astype(float)
            if f.nodata is not None:
                raw[raw == f.nodata] = np.nan
        np.testing.assert_array_equal(values[0, i], raw)


def test_an_items_extents_bands_and_properties_apply_as_load_collections(backend, tree):
    url, doc = _item(tree, S2, "SENTINEL2_L2A_bolzano_20220605")
    box = {"west": 11.30, "south": 46.46, "east": 11.32, "north": 46.475}
    args = {"spatial_extent": box, "bands": ["B04"]}
    by_stac = backend.prepare(_graph("load_stac", url=url, **args), user="demo").valid()
    by_id = backend.prepare(
        _graph("load_collection", id=S2, temporal_extent=_day(doc), **args), user="demo"
    ).valid()
    (_, a), (_, b) = run_prepared(backend, by_stac), run_prepared(backend, by_id)
    assert list(a["bands"].values) == ["B04"] and a.shape == b.shape
    assert a.sizes["x"] < doc["properties"]["proj:shape"][1]
    np.testing.assert_array_equal(np.asarray(a.values), np.asarray(b.values))
    # A time extent without the item, or properties it fails, find no data, as load_collection.
    for extra in (
        {"temporal_extent": ["2022-06-06", "2022-06-30"]},
        {"properties": {"platform": {"process_graph": {"e": {
            "process_id": "eq",
            "arguments": {"x": {"from_parameter": "value"}, "y": "no-such-platform"},
            "result": True,
        }}}}},
    ):  # fmt: skip
        prepared = backend.prepare(_graph("load_stac", url=url, **extra), user="demo").valid()
        with pytest.raises(NoDataFound, match=S2):
            run_prepared(backend, prepared)
    # A band the collection does not have is refused as load_collection refuses it.
    prepared = backend.prepare(_graph("load_stac", url=url, bands=["B99"]), user="demo").valid()
    with pytest.raises(Exception, match="B99"):
        run_prepared(backend, prepared)


def test_a_catalog_holding_one_collection_is_that_collection(backend, tree):
    days = ["2020-01-01", "2020-02-01"]
    by_stac = backend.prepare(
        _graph("load_stac", url=str(tree / "italy" / "catalog.json"), temporal_extent=days),
        user="demo",
    ).valid()
    by_id = backend.prepare(
        _graph("load_collection", id=S1, spatial_extent=None, temporal_extent=days), user="demo"
    )
    plan, a = run_prepared(backend, by_stac)
    plan_id, b = run_prepared(backend, by_id.valid())
    assert plan.to_dict()["loads"] == plan_id.to_dict()["loads"]
    assert [load["site"] for load in plan.to_dict()["loads"]] == ["leonardo"]
    assert a.sizes["t"] == 3 and a.shape == b.shape
    np.testing.assert_array_equal(np.asarray(a.values), np.asarray(b.values))


def test_a_catalog_of_several_collections_is_refused_naming_them(backend, tree):
    prepared = backend.prepare(_graph("load_stac", url=str(tree / "catalog.json")), user="demo")
    [error] = prepared.errors
    assert (error.status, error.code) == (400, "ProcessParameterInvalid")
    ids = sorted(backend.catalog.collection_ids())
    assert len(ids) == 6
    for cid in ids:
        assert f"'{cid}'" in error.message
        assert str(backend.catalog.collection(cid).get_self_href()) in error.message
    assert "form no one data cube" in error.message


@pytest.mark.parametrize(
    "path",
    [f"{S1}/S1_SSM_po_valley_20200104/nothing.json", f"{S1}/S1_SSM_po_valley_20200104", "regions"],
)
def test_what_is_no_item_or_catalog_is_refused(backend, tree, path):
    prepared = backend.prepare(_graph("load_stac", url=str(tree / path)), user="demo")
    [error] = prepared.errors
    assert (error.status, error.code) == (400, "ProcessParameterInvalid")
    assert "names no collection, item or catalog" in error.message

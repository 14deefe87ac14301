"""load_collection over the demo catalog: extents, bands, properties, dimension names, budget."""

from __future__ import annotations

import json

import pystac
import pytest

from openeo_dedl.backend import Backend
from openeo_dedl.config import LimitsConfig, Settings
from openeo_dedl.errors import OpenEOError


@pytest.fixture(scope="module")
def backend(tmp_path_factory, demo_catalog_dir):
    b = Backend(
        Settings(data_dir=tmp_path_factory.mktemp("data"), demo_catalog_dir=demo_catalog_dir)
    )
    yield b
    b.close()


def labels_of(backend, tmp_path, load_args: dict, dimension: str) -> list:
    pg = {
        "load": {"process_id": "load_collection", "arguments": load_args},
        "labels": {
            "process_id": "dimension_labels",
            "arguments": {"data": {"from_node": "load"}, "dimension": dimension},
            "result": True,
        },
    }
    result = backend.run_sync({"process_graph": pg}, tmp_path)
    return json.loads(result.path.read_text())


def s2_items(demo_catalog_dir) -> list[pystac.Item]:
    root = pystac.Catalog.from_file(str(demo_catalog_dir / "catalog.json"))
    return list(root.get_child("SENTINEL2_L2A").get_items(recursive=True))


def test_properties_filter_items(backend, tmp_path, demo_catalog_dir):
    items = s2_items(demo_catalog_dir)
    covers = sorted(item.properties["eo:cloud_cover"] for item in items)
    threshold = (covers[0] + covers[-1]) / 2
    expected = sorted(
        item.datetime.strftime("%Y-%m-%d")
        for item in items
        if item.properties["eo:cloud_cover"] <= threshold
    )
    assert 0 < len(expected) < len(items)
    condition = {
        "process_graph": {
            "cc": {
                "process_id": "lte",
                "arguments": {"x": {"from_parameter": "value"}, "y": threshold},
                "result": True,
            }
        }
    }
    got = labels_of(
        backend,
        tmp_path,
        {
            "id": "SENTINEL2_L2A",
            "spatial_extent": None,
            "temporal_extent": None,
            "bands": ["B04"],
            "properties": {"eo:cloud_cover": condition},
        },
        "t",
    )
    assert sorted(label[:10] for label in got) == expected


def test_bands_and_temporal_extent(backend, tmp_path, demo_catalog_dir):
    items = s2_items(demo_catalog_dir)
    days = sorted(item.datetime.strftime("%Y-%m-%d") for item in items)
    args = {
        "id": "SENTINEL2_L2A",
        "spatial_extent": None,
        # The end of an openEO interval is excluded: the last acquisition day is not loaded.
        "temporal_extent": [days[0], days[-1]],
        "bands": ["B08", "B04"],
    }
    assert labels_of(backend, tmp_path, args, "bands") == ["B08", "B04"]
    assert [label[:10] for label in labels_of(backend, tmp_path, args, "t")] == days[:-1]


def test_unknown_band_and_empty_selection_are_user_errors(backend, tmp_path):
    base = {"id": "SENTINEL2_L2A", "spatial_extent": None, "temporal_extent": None}
    with pytest.raises(OpenEOError) as info:
        labels_of(backend, tmp_path, {**base, "bands": ["B99"]}, "bands")
    assert info.value.status == 400 and "B99" in info.value.message
    with pytest.raises(OpenEOError) as info:
        labels_of(backend, tmp_path, {**base, "temporal_extent": ["1990-01-01", "1991-01-01"]}, "t")
    assert info.value.status == 400


def test_sync_budget_is_enforced(tmp_path, demo_catalog_dir):
    small = Backend(
        Settings(
            data_dir=tmp_path / "data",
            demo_catalog_dir=demo_catalog_dir,
            limits=LimitsConfig(sync_max_bytes=1000),
        )
    )
    try:
        with pytest.raises(OpenEOError) as info:
            labels_of(
                small,
                tmp_path,
                {"id": "GFM_FLOOD", "spatial_extent": None, "temporal_extent": None},
                "t",
            )
        assert info.value.code == "ProcessGraphComplexity"
    finally:
        small.close()

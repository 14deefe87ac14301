"""load_collection's ``properties`` as CQL2-JSON (planning/properties.py) and as the check of
items (execution/properties.py): what is pushed keeps every item the check keeps."""

from __future__ import annotations

import pystac
import pytest

from openeo_dedl.execution.properties import item_matches, providers_selected
from openeo_dedl.planning.properties import any_filter, properties_filter

VALUE = {"from_parameter": "value"}
SITE = {"property": "federation:backends"}


def cmp(process_id: str, literal, swapped: bool = False, **extra) -> dict:
    args = {"x": literal, "y": VALUE} if swapped else {"x": VALUE, "y": literal}
    node = {"process_id": process_id, "arguments": {**args, **extra}, "result": True}
    return {"process_graph": {"c": node}}


def either(a: dict, b: dict, op: str = "or") -> dict:
    nodes = {"a": a["process_graph"]["c"], "b": b["process_graph"]["c"]}
    nodes = {k: {**v, "result": False} for k, v in nodes.items()}
    nodes["r"] = {"process_id": op, "arguments": {"x": {"from_node": "a"}, "y": {"from_node": "b"}},
                  "result": True}  # fmt: skip
    return {"process_graph": nodes}


def item(**properties) -> pystac.Item:
    return pystac.Item("i", None, None, properties.pop("datetime", None) or _now(), properties)


def _now():
    from datetime import UTC, datetime

    return datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("properties", "cql2"),
    [
        ({"federation:backends": cmp("eq", "dedt_lumi")},
         {"op": "a_overlaps", "args": [SITE, ["dedt_lumi"]]}),
        ({"federation:backends": cmp("neq", "dedt_lumi")},
         {"op": "not", "args": [{"op": "a_overlaps", "args": [SITE, ["dedt_lumi"]]}]}),
        ({"eo:cloud_cover": cmp("lt", 20, swapped=True)},  # 20 < value: value > 20
         {"op": ">", "args": [{"property": "eo:cloud_cover"}, 20]}),
        ({"platform": cmp("eq", "sentinel-2a")},
         {"op": "=", "args": [{"property": "platform"}, "sentinel-2a"]}),
        ({"federation:backends": either(cmp("eq", "a"), cmp("eq", "b"))},
         {"op": "or", "args": [{"op": "a_overlaps", "args": [SITE, ["a"]]},
                               {"op": "a_overlaps", "args": [SITE, ["b"]]}]}),
        # Not pushed: neq on a plain property, strings ordered, case-insensitive equality.
        ({"platform": cmp("neq", "x")}, None),
        ({"platform": cmp("lt", "x")}, None),
        ({"platform": cmp("eq", "X", case_sensitive=False)}, None),
        ({"platform": either(cmp("eq", "x"), cmp("neq", "y"))}, None),
        ({"platform": {"process_graph": {"c": {"process_id": "text_begins", "result": True,
          "arguments": {"data": VALUE, "pattern": "s"}}}}}, None),
    ],
)  # fmt: skip
def test_pushed_filters(properties, cql2):
    assert properties_filter(properties) == cql2


def test_what_cannot_be_pushed_is_left_out_of_the_and():
    properties = {"platform": cmp("neq", "x"), "eo:cloud_cover": cmp("lte", 50)}
    assert properties_filter(properties) == {
        "op": "<=", "args": [{"property": "eo:cloud_cover"}, 50]}  # fmt: skip


def test_loads_with_several_filters_search_for_any_of_them():
    a, b = {"op": "=", "args": [1, 1]}, {"op": "=", "args": [2, 2]}
    assert any_filter([a, a]) == a
    assert any_filter([a, b]) == {"op": "or", "args": [a, b]}
    assert any_filter([a, None]) is None


def test_providers_are_a_set_for_the_check_of_items():
    lumi = {"federation:backends": cmp("eq", "dedt_lumi")}
    assert item_matches(item(**{"federation:backends": ["dedt_lumi"]}), lumi)
    assert item_matches(item(**{"federation:backends": "dedt_lumi"}), lumi)
    assert not item_matches(item(**{"federation:backends": ["eumetsat"]}), lumi)
    assert not item_matches(item(), lumi)
    other = {"federation:backends": cmp("neq", "dedt_lumi")}
    assert item_matches(item(**{"federation:backends": ["eumetsat"]}), other)
    assert providers_selected(lumi, ["dedt_lumi"]) and not providers_selected(lumi, ["x"])
    assert providers_selected({"eo:cloud_cover": cmp("lt", 5)}, ["x"])


def test_a_value_a_condition_cannot_compare_does_not_match():
    assert not item_matches(item(**{"eo:cloud_cover": "cloudy"}), {"eo:cloud_cover": cmp("lt", 5)})
    assert item_matches(item(**{"eo:cloud_cover": 3}), {"eo:cloud_cover": cmp("lt", 5)})


def test_a_static_catalog_plans_only_the_items_the_properties_select(demo_catalog_dir, tmp_path):
    from openeo_dedl.backend import Backend
    from openeo_dedl.config import Settings

    backend = Backend(Settings(data_dir=tmp_path, demo_catalog_dir=demo_catalog_dir))
    try:
        load = {"id": "ERA5_LAND", "spatial_extent": {"west": 67.0, "south": 24.0, "east": 71.0,
                "north": 28.0}, "temporal_extent": ["2022-08-14", "2022-08-24"]}  # fmt: skip
        save = {"data": {"from_node": "load"}, "format": "netCDF"}
        graph = {
            "load": {"process_id": "load_collection", "arguments": load},
            "save": {"process_id": "save_result", "arguments": save, "result": True},
        }

        def items(properties):
            load["properties"] = properties
            plan = backend.prepare({"process_graph": graph}).valid().plan()
            return plan.facts["ERA5_LAND"].items

        everything = items(None)
        assert everything and all(i.sites == ("lumi",) for i in everything)
        assert items({"federation:backends": cmp("eq", "lumi")}) == everything
        assert items({"federation:backends": cmp("eq", "leonardo")}) == ()
    finally:
        backend.close()

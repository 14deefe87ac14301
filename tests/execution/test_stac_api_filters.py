"""load_collection's ``properties`` against a real STAC API (stac-fastapi-pgstac): conditions on
``federation:backends`` and numbers are sent as a CQL2-JSON ``filter`` (the plan and the values
have only the selected items), one the search cannot take is checked on the items it answers;
and re-use keys carry the searched items' versions, so an item updated in the API is computed
again."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import numpy as np
import pytest
import xarray as xr

from openeo_dedl.backend import Backend
from openeo_dedl.execution.load import load_collection_from_catalog
from openeo_dedl.planning.explain import explain
from tests.support.stac_api import DEDL_PROVIDERS, demo_documents
from tests.use_cases.test_stac_api_catalog import stac_api_settings

# A copy of ERA5_LAND whose Pakistan items alternate between two providers and carry a cloud
# cover (0, 10, 20, ...), so that a filter can select by either.
COLLECTION = "ERA5_TWO_PROVIDERS"
PAKISTAN = {"west": 67.0, "south": 24.0, "east": 71.0, "north": 28.0}
WINDOW = ["2022-08-14", "2022-08-24"]
LUMI, LEONARDO = DEDL_PROVIDERS["lumi"], DEDL_PROVIDERS["leonardo"]


def condition(process_id: str, **arguments) -> dict:
    return {"process_graph": {"c": {"process_id": process_id, "arguments": arguments,
                                    "result": True}}}  # fmt: skip


def value_is(process_id: str, literal) -> dict:
    return condition(process_id, x={"from_parameter": "value"}, y=literal)


@pytest.fixture(scope="module")
def two_providers(demo_stac_api, demo_catalog_dir) -> Iterator[list[dict]]:
    """The collection in the session's STAC API (for this module only); its items."""
    collections, items = demo_documents(demo_catalog_dir)
    coll = copy.deepcopy(next(c for c in collections if c["id"] == "ERA5_LAND"))
    coll["id"] = COLLECTION
    coll["summaries"]["federation:backends"] = [LUMI, LEONARDO]
    chosen = sorted(
        (i for i in items if i["id"].startswith("ERA5_LAND_pakistan_")), key=lambda i: i["id"]
    )
    docs = []
    for n, item in enumerate(chosen):
        doc = copy.deepcopy(item)
        doc["id"] = doc["id"].replace("ERA5_LAND", COLLECTION)
        doc["collection"] = COLLECTION
        doc["properties"]["federation:backends"] = [LUMI if n % 2 == 0 else LEONARDO]
        doc["properties"]["eo:cloud_cover"] = float(10 * n)
        doc["properties"]["updated"] = "2024-01-01T00:00:00Z"
        docs.append(doc)
    demo_stac_api.load_collections([coll])
    demo_stac_api.load_items(docs)
    yield docs
    demo_stac_api.delete_collection(COLLECTION)


def in_window(docs: list[dict]) -> list[dict]:
    start, end = WINDOW
    return [d for d in docs if start <= d["properties"]["datetime"][:10] < end]


def graph(properties: dict | None = None) -> dict:
    args = {"id": COLLECTION, "spatial_extent": PAKISTAN, "temporal_extent": WINDOW,
            "bands": ["total_precipitation"]}  # fmt: skip
    if properties is not None:
        args["properties"] = properties
    return {
        "load": {"process_id": "load_collection", "arguments": args},
        "save": {"process_id": "save_result", "result": True,
                 "arguments": {"data": {"from_node": "load"}, "format": "netCDF"}},
    }  # fmt: skip


@pytest.fixture
def backend(demo_stac_api, two_providers, tmp_path):
    backend = Backend(stac_api_settings(demo_stac_api.url, tmp_path, catalog_cache_seconds=600))
    yield backend
    backend.close()


def searches(backend: Backend) -> list[dict]:
    (api,) = backend.catalog.apis
    return [body for method, url, body in api.sent if method == "POST" and "/search" in url]


def planned(backend: Backend, properties: dict | None):
    prepared = backend.prepare({"process_graph": graph(properties)}).valid()
    plan = prepared.plan()
    return plan, plan.facts[COLLECTION]


def loaded_days(backend: Backend, properties: dict | None) -> list[str]:
    args = graph(properties)["load"]["arguments"]
    cube = load_collection_from_catalog(
        backend.catalog, COLLECTION, args["spatial_extent"], args["temporal_extent"],
        properties=properties,
    )  # fmt: skip
    return sorted(str(t)[:10] for t in cube["t"].values)


def days(docs: list[dict]) -> list[str]:
    return sorted(d["properties"]["datetime"][:10] for d in docs)


def test_without_a_filter_the_load_is_split_over_both_providers(backend, two_providers):
    plan, facts = planned(backend, None)
    assert {s for s, _ in plan.splits[0].parts} == {"lumi", "leonardo"}
    assert len(facts.items) == len(in_window(two_providers)) >= 4
    assert all("filter" not in body for body in searches(backend))


def test_a_provider_filter_is_sent_and_only_its_items_are_planned_and_read(backend, two_providers):
    properties = {"federation:backends": value_is("eq", LUMI)}
    plan, facts = planned(backend, properties)
    (body,) = searches(backend)
    assert body["filter"] == {
        "op": "a_overlaps", "args": [{"property": "federation:backends"}, [LUMI]],
    }  # fmt: skip
    assert body["filter-lang"] == "cql2-json"
    expected = [d for d in in_window(two_providers) if d["properties"][
        "federation:backends"] == [LUMI]]  # fmt: skip
    assert sorted(i.id for i in facts.items) == sorted(d["id"] for d in expected)
    # Only lumi: no split, and the plan names only the provider the user chose.
    assert plan.splits == () and plan.node_sites["load"] == "lumi"
    assert plan.providers[COLLECTION] == {LUMI: "lumi"}
    assert f"{LUMI} → lumi" in explain(plan) and LEONARDO not in explain(plan)
    # The values: the lumi days only, read from the plan's search (no second request).
    (api,) = backend.catalog.apis
    before = api.requests
    assert loaded_days(backend, properties) == days(expected)
    assert api.requests == before


def test_array_contains_and_a_number_are_one_filter(backend, two_providers):
    properties = {
        "federation:backends": condition(
            "array_contains", data={"from_parameter": "value"}, value=LEONARDO
        ),
        "eo:cloud_cover": condition("between", x={"from_parameter": "value"}, min=20, max=70),
    }
    _, facts = planned(backend, properties)
    (body,) = searches(backend)
    assert body["filter"]["op"] == "and"
    # One provider: held by it, whichever of eq and array_contains says so.
    assert {part["op"] for part in body["filter"]["args"]} == {"between", "a_overlaps"}
    expected = [
        d for d in in_window(two_providers)
        if d["properties"]["federation:backends"] == [LEONARDO]
        and 20 <= d["properties"]["eo:cloud_cover"] <= 70
    ]  # fmt: skip
    assert expected and sorted(i.id for i in facts.items) == sorted(d["id"] for d in expected)
    assert loaded_days(backend, properties) == days(expected)


def test_neq_on_a_provider_excludes_its_items(backend, two_providers):
    properties = {"federation:backends": value_is("neq", LUMI)}
    plan, facts = planned(backend, properties)
    (body,) = searches(backend)
    assert body["filter"]["op"] == "not"
    assert facts.items and all(i.sites == ("leonardo",) for i in facts.items)
    assert plan.node_sites["load"] == "leonardo" and plan.splits == ()


def test_a_condition_the_search_cannot_take_is_checked_on_the_items(backend, two_providers):
    # neq on a plain property is not pushed (the search does not know its type): the items
    # the API answers are checked instead, with the same result.
    leonardo = [
        d for d in in_window(two_providers)
        if d["properties"]["federation:backends"] == [LEONARDO]
    ]  # fmt: skip
    excluded = leonardo[0]["properties"]["eo:cloud_cover"]
    properties = {
        "eo:cloud_cover": value_is("neq", excluded),
        "federation:backends": value_is("eq", LEONARDO),
    }
    _, facts = planned(backend, properties)
    (body,) = searches(backend)
    assert body["filter"] == {
        "op": "a_overlaps", "args": [{"property": "federation:backends"}, [LEONARDO]],
    }  # fmt: skip
    expected = leonardo[1:]
    assert expected and sorted(i.id for i in facts.items) == sorted(d["id"] for d in expected)
    assert loaded_days(backend, properties) == days(expected)


def test_an_item_updated_in_the_api_is_computed_again(demo_stac_api, two_providers, tmp_path):
    settings = stac_api_settings(
        demo_stac_api.url, tmp_path / "data", catalog_cache_seconds=0.2, reuse={"enabled": True}
    )
    process = {"process_graph": _sum_graph()}
    work = tmp_path / "work"

    def run(backend: Backend, name: str):
        out = work / name
        out.mkdir(parents=True)
        result = backend.executor.run_sync(process, out, user="alice")
        with xr.open_dataset(result.path) as ds:
            values = ds.to_array().values.copy()
        return values, [r.to_dict() for r in result.usage.reused]

    backend = Backend(settings)
    changed = copy.deepcopy(
        next(d for d in in_window(two_providers) if d["properties"]["federation:backends"] == [
            LEONARDO])
    )  # fmt: skip
    try:
        first, none = run(backend, "first")
        again, reused = run(backend, "again")
        assert none == [] and reused, reused
        np.testing.assert_array_equal(first, again)
        changed["properties"]["updated"] = "2026-12-01T00:00:00Z"
        demo_stac_api.load_items([changed])
        backend.catalog.apis[0].clear()  # (or wait catalog_cache_seconds)
        after, reused_after = run(backend, "after")
        assert reused_after == [], reused_after  # the item's new version: nothing matches
        np.testing.assert_array_equal(after, first)  # (its data did not change)
    finally:
        changed["properties"]["updated"] = "2024-01-01T00:00:00Z"
        demo_stac_api.load_items([changed])
        backend.close()


def _sum_graph() -> dict:
    g = graph({"federation:backends": value_is("eq", LEONARDO)})
    g["load"]["arguments"]["spatial_extent"] = {
        "west": 67.9, "south": 26.9, "east": 68.1, "north": 27.1}  # fmt: skip
    g["sum"] = {
        "process_id": "reduce_dimension",
        "arguments": {"data": {"from_node": "load"}, "dimension": "t", "reducer": {
            "process_graph": {"s": {"process_id": "sum", "result": True,
                                    "arguments": {"data": {"from_parameter": "data"}}}}}},
    }  # fmt: skip
    g["double"] = {
        "process_id": "apply",
        "arguments": {"data": {"from_node": "sum"}, "process": {"process_graph": {"m": {
            "process_id": "multiply", "result": True,
            "arguments": {"x": {"from_parameter": "x"}, "y": 2}}}}},
    }  # fmt: skip
    g["save"]["arguments"]["data"] = {"from_node": "double"}
    return g


def test_a_filter_the_api_fails_on_is_searched_again_without_it(backend, two_providers):
    # pgstac answers 500 for a numeric comparison of a string property ("EPSG:4326"): the
    # search is sent again without the filter, and the condition checked on the items.
    properties = {
        "proj:code": condition("between", x={"from_parameter": "value"}, min=1, max=3),
        "federation:backends": value_is("eq", LUMI),
    }
    plan, facts = planned(backend, properties)
    first, second = searches(backend)
    assert first["filter"]["op"] == "and" and "filter" not in second
    assert facts.items == ()  # no string is between 1 and 3
    # The refused filter is not sent again while the cache lasts.
    backend.catalog.apis[0]._searches.clear()
    planned(backend, properties)
    assert [("filter" in body) for body in searches(backend)] == [True, False, False]


def test_a_cached_unfiltered_search_answers_a_filtered_one(backend, two_providers):
    planned(backend, None)
    (api,) = backend.catalog.apis
    before = api.requests
    plan, facts = planned(backend, {"federation:backends": value_is("eq", LEONARDO)})
    assert api.requests == before  # no landing page, no search: the items are checked here
    assert facts.items and all(i.sites == ("leonardo",) for i in facts.items)
    assert plan.splits == () and plan.node_sites["load"] == "leonardo"

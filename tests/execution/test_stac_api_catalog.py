"""A STAC API catalog as the backend uses it: facts from bounded, cached searches (a new item is
used without a restart), and a STAC API that fails or hangs answers 503 naming it, never a
hang or half the items."""

from __future__ import annotations

import copy
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from openeo_dedl.backend import Backend
from openeo_dedl.errors import CatalogUnavailable
from openeo_dedl.planning.explain import explain
from tests.support.servers import serving
from tests.support.stac_api import DEDL_PROVIDERS, demo_documents
from tests.support.waiting import wait_until
from tests.use_cases.test_stac_api_catalog import stac_api_settings

# A day of ERA5_LAND over Pakistan that the demo catalog does not have.
NEW_DAY = "2023-01-15"
PAKISTAN = {"west": 67.0, "south": 24.0, "east": 71.0, "north": 28.0}


def era5_graph(day: str = NEW_DAY) -> dict:
    return {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": "ERA5_LAND",
                "spatial_extent": PAKISTAN,
                "temporal_extent": [day, f"{day}T23:59:59Z"],
                "bands": ["total_precipitation"],
            },
        },
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "load"}, "format": "netCDF"},
            "result": True,
        },
    }


def new_item(template: dict, site: str) -> dict:
    item = copy.deepcopy(template)
    item["id"] = f"ERA5_LAND_pakistan_{NEW_DAY.replace('-', '')}_{site}"
    item["properties"]["datetime"] = f"{NEW_DAY}T00:00:00Z"
    for key in ("start_datetime", "end_datetime"):
        item["properties"].pop(key, None)
    item["properties"]["federation:backends"] = [DEDL_PROVIDERS[site]]
    return item


@pytest.fixture(scope="module")
def era5_template(demo_catalog_dir) -> dict:
    _, items = demo_documents(demo_catalog_dir)
    return next(i for i in items if i["id"].startswith("ERA5_LAND_pakistan_"))


def test_plans_search_within_the_graphs_extents_and_reuse_the_answers(demo_stac_api, tmp_path):
    backend = Backend(stac_api_settings(demo_stac_api.url, tmp_path, catalog_cache_seconds=600))
    (api,) = backend.catalog.apis
    try:
        prepared = backend.prepare({"process_graph": era5_graph("2022-08-20")}).valid()
        plan = prepared.plan()
        first = api.requests
        assert plan.node_sites["load"] == "lumi"
        # The collection's document and one page of search results: no landing page, no
        # listing of the collections or of the items.
        assert first == 2
        assert [(m, url.rsplit("/", 2)[-2:]) for m, url, _ in api.sent] == [
            ("GET", ["collections", "ERA5_LAND"]),
            ("POST", ["127.0.0.1:" + demo_stac_api.url.rsplit(":", 1)[1], "search"]),
        ]
        facts = backend.environment.bounded_facts("ERA5_LAND", _bounds(prepared))
        assert len(facts.items) == 1 and facts.items[0].sites == ("lumi",)
        assert api.requests == first  # answered from the cache
    finally:
        backend.close()


def _bounds(prepared):
    from openeo_dedl.planning.graph import FlatGraph
    from openeo_dedl.planning.prepare import load_bounds

    return load_bounds(FlatGraph(prepared.process_graph), ["load"])


def test_an_added_item_is_used_without_a_restart(demo_stac_api, era5_template, tmp_path):
    backend = Backend(stac_api_settings(demo_stac_api.url, tmp_path, catalog_cache_seconds=0.2))
    item = new_item(era5_template, "leonardo")
    try:
        process = {"process_graph": era5_graph()}
        before = backend.prepare(process).valid().plan()
        assert before.splits == () and before.node_sites["load"] == "lumi"
        demo_stac_api.load_items([item])
        # The same backend, after its cache expired: the new item, held at leonardo, is read
        # there (DEDL provider id dedt_leonardo → leonardo, named by the plan).
        assert wait_until(
            lambda: backend.prepare(process).valid().plan().node_sites["load"] == "leonardo",
            timeout=10,
        )
        plan = backend.prepare(process).valid().plan()
        # The collection's provider id and the new item's.
        assert plan.providers["ERA5_LAND"] == {"dedt_lumi": "lumi", "dedt_leonardo": "leonardo"}
        assert "dedt_leonardo → leonardo" in explain(plan)
        cube = _load(backend)
        assert cube.sizes["t"] == 1 and str(cube["t"].values[0])[:10] == NEW_DAY
    finally:
        demo_stac_api.delete_item("ERA5_LAND", item["id"])
        backend.close()


def _load(backend: Backend):
    from openeo_dedl.execution.load import load_collection_from_catalog

    args = era5_graph()["load"]["arguments"]
    return load_collection_from_catalog(
        backend.catalog, "ERA5_LAND", args["spatial_extent"], args["temporal_extent"]
    )


class FlakyStacApi(BaseHTTPRequestHandler):
    """A tiny STAC API: one collection whose search answers as ``server.mode`` says:
    "ok" (two pages), "5xx" (every search 502), "sleep" (no answer for 5 s), "page2" (the second
    page fails)."""

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        base = f"http://{self.headers['Host']}"
        path, _, query = self.path.partition("?")
        if path == "/":
            return self._send(200, _landing(base, self.server.filtering))  # type: ignore[attr-defined]
        collection = self.server.collection  # type: ignore[attr-defined]
        if path == "/collections":
            return self._send(200, {"collections": [collection], "links": []})
        if path == f"/collections/{collection['id']}":
            return self._send(200, collection)
        if path != "/search":
            return self._send(404, {"code": "NotFound", "description": path})
        self._search(base, page=2 if "page=2" in query else 1, body=None)

    def do_POST(self) -> None:  # noqa: N802 - pystac-client searches by POST
        base = f"http://{self.headers['Host']}"
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self._search(base, page=int(body.get("page", 1)), body=body)

    def _search(self, base: str, page: int, body: dict | None) -> None:
        mode = self.server.mode  # type: ignore[attr-defined]
        if mode == "5xx":
            return self._send(502, {"code": "BadGateway", "description": "upstream down"})
        if mode == "sleep":
            time.sleep(5)
            return self._send(200, _page([], []))
        items = self.server.items  # type: ignore[attr-defined]
        if page == 1:
            nxt = {"rel": "next", "href": f"{base}/search?page=2", "method": "GET"}
            if body is not None:
                nxt = {
                    **nxt,
                    "href": f"{base}/search",
                    "method": "POST",
                    "body": {**body, "page": 2},
                }
            return self._send(200, _page(items[:1], [nxt]))
        if mode == "page2":
            return self._send(500, {"code": "Internal", "description": "page 2 failed"})
        return self._send(200, _page(items[1:], []))


def _landing(base: str, filtering: bool = False) -> dict:
    filter_classes = [
        "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    ]
    return {
        "type": "Catalog",
        "id": "flaky",
        "description": "flaky",
        "stac_version": "1.0.0",
        "conformsTo": [
            "https://api.stacspec.org/v1.0.0/core",
            "https://api.stacspec.org/v1.0.0/item-search",
            "https://api.stacspec.org/v1.0.0/collections",
            *(filter_classes if filtering else []),
        ],
        "links": [
            {"rel": "self", "href": f"{base}/"},
            {"rel": "root", "href": f"{base}/"},
            {"rel": "data", "href": f"{base}/collections"},
            {
                "rel": "search",
                "href": f"{base}/search",
                "type": "application/geo+json",
                "method": "POST",
            },
        ],
    }


def _page(items: list[dict], links: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": items, "links": links}


@pytest.fixture
def flaky_api(demo_catalog_dir):
    collections, items = demo_documents(demo_catalog_dir)
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyStacApi)
    server.daemon_threads = True
    server.collection = next(c for c in collections if c["id"] == "ERA5_LAND")  # type: ignore[attr-defined]
    server.items = [  # type: ignore[attr-defined]
        i for i in items if i["id"].startswith("ERA5_LAND_pakistan_2022081")
    ][:2]
    server.mode = "ok"  # type: ignore[attr-defined]
    server.filtering = False  # type: ignore[attr-defined]
    with serving(server):
        yield server


@pytest.fixture
def flaky_backend(flaky_api, tmp_path):
    url = f"http://127.0.0.1:{flaky_api.server_address[1]}/"
    backend = Backend(stac_api_settings(url, tmp_path, catalog_timeout_seconds=0.5))
    yield backend, url
    backend.close()


def _plan_graph():
    graph = era5_graph("2022-08-10")
    graph["load"]["arguments"]["temporal_extent"] = ["2022-08-10", "2022-08-20"]
    return {"process_graph": graph}


@pytest.mark.serial  # bounds wall-clock time: runs alone, after the others
@pytest.mark.parametrize("mode", ["5xx", "sleep", "page2"])
def test_a_failing_stac_api_is_a_503_naming_it(mode, flaky_api, flaky_backend):
    backend, url = flaky_backend
    assert backend.collection_ids() == ["ERA5_LAND"]
    flaky_api.mode = mode
    started = time.monotonic()
    with pytest.raises(CatalogUnavailable) as caught:
        backend.prepare(_plan_graph()).valid().plan()
    assert time.monotonic() - started < 3
    assert caught.value.status == 503 and url.rstrip("/") in caught.value.message
    assert caught.value.to_dict()["code"] == "CatalogUnavailable"
    # Nothing of the failed search was kept: once the API answers, every item is there.
    flaky_api.mode = "ok"
    items = backend.catalog.search_items("ERA5_LAND", interval=None)
    assert sorted(i.id for i in items) == sorted(i["id"] for i in flaky_api.items)
    assert len(items) == 2


def test_an_api_without_filter_conformance_is_sent_no_filter(flaky_api, flaky_backend):
    backend, _ = flaky_backend
    lumi = {"op": "a_overlaps", "args": [{"property": "federation:backends"}, ["dedt_lumi"]]}
    (api,) = backend.catalog.apis
    assert api.pushed_filter(lumi) is None  # the landing page declares no Filter
    items = backend.catalog.search_items("ERA5_LAND", interval=None, cql2=lumi)
    assert len(items) == 2
    bodies = [body for method, _, body in api.sent if method == "POST"]
    assert bodies and all("filter" not in body for body in bodies)


def test_an_outage_is_not_taken_for_a_refused_filter(flaky_api, flaky_backend):
    # Every search fails (5xx), the one without the filter too: the API is down, the filter
    # was not at fault. Once the API answers, the filter is sent again.
    backend, _ = flaky_backend
    flaky_api.filtering = True
    lumi = {"op": "a_overlaps", "args": [{"property": "federation:backends"}, ["dedt_lumi"]]}
    (api,) = backend.catalog.apis
    flaky_api.mode = "5xx"
    with pytest.raises(CatalogUnavailable):
        backend.catalog.search_items("ERA5_LAND", interval=None, cql2=lumi)
    searched = [body for method, _, body in api.sent if method == "POST"]
    assert ["filter" in body for body in searched] == [True, False]
    assert api.pushed_filter(lumi) == lumi
    flaky_api.mode = "ok"
    api.sent.clear()
    backend.catalog.search_items("ERA5_LAND", interval=None, cql2=lumi)
    searched = [body for method, _, body in api.sent if method == "POST"]
    assert searched and all("filter" in body for body in searched)

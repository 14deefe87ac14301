"""Capabilities, well-known, conformance, collections and processes: content and links."""

from __future__ import annotations

import logging

import pytest

from openeo_dedl.config import Settings, SiteConfig
from tests.api.conftest import API, BASE, StubBackend, TestClient, create_app

EXPECTED_ENDPOINTS = {
    ("/collections", "GET"),
    ("/collections/{collection_id}", "GET"),
    ("/conformance", "GET"),
    ("/credentials/basic", "GET"),
    ("/file_formats", "GET"),
    ("/files", "GET"),
    ("/files/{path}", "GET"),
    ("/files/{path}", "PUT"),
    ("/files/{path}", "DELETE"),
    ("/jobs", "GET"),
    ("/jobs", "POST"),
    ("/jobs/{job_id}", "DELETE"),
    ("/jobs/{job_id}", "GET"),
    ("/jobs/{job_id}", "PATCH"),
    ("/jobs/{job_id}/estimate", "GET"),
    ("/jobs/{job_id}/logs", "GET"),
    ("/jobs/{job_id}/results", "DELETE"),
    ("/jobs/{job_id}/results", "GET"),
    ("/jobs/{job_id}/results", "POST"),
    ("/me", "GET"),
    ("/process_graphs", "GET"),
    ("/process_graphs/{process_graph_id}", "GET"),
    ("/process_graphs/{process_graph_id}", "PUT"),
    ("/process_graphs/{process_graph_id}", "DELETE"),
    ("/processes", "GET"),
    ("/result", "POST"),
    ("/service_types", "GET"),
    ("/services", "GET"),
    ("/services/{service_id}", "GET"),
    ("/udf_runtimes", "GET"),
    ("/validation", "POST"),
}


def test_capabilities(client):
    caps = client.get("/openeo/1.2/").json()
    assert caps["api_version"] == "1.2.0"
    assert caps["stac_version"] == "1.0.0"
    assert caps["type"] == "Catalog"
    assert caps["id"] == "openeo-dedl" and caps["title"] and caps["description"]
    assert caps["production"] is False
    rels = {link["rel"]: link["href"] for link in caps["links"]}
    assert rels["conformance"] == f"{API}/conformance"
    assert rels["data"] == f"{API}/collections"
    assert rels["version-history"] == "http://testserver/.well-known/openeo"
    assert caps["federation"]["lumi"] == {
        "url": f"{API}/",
        "title": "LUMI Bridge (Kajaani)",
        "description": "Site lumi (local Dask cluster)",
    }


def test_capabilities_list_exactly_the_served_endpoints(client, auth):
    caps = client.get("/openeo/1.2/").json()
    listed = {(e["path"], m) for e in caps["endpoints"] for m in e["methods"]}
    assert listed == EXPECTED_ENDPOINTS
    assert len({e["path"] for e in caps["endpoints"]}) == len(caps["endpoints"])  # once each
    for path, method in listed:
        resp = client.request(
            method, API + path.replace("{collection_id}", "ERA5_LAND"), headers=auth
        )
        # Served: never 405, and a 404 only for a missing resource (FileNotFound, ...).
        assert resp.status_code != 405, (method, path, resp.text)
        if resp.status_code == 404:
            assert resp.json()["code"] != "NotFound", (method, path, resp.text)


def test_one_site_is_no_federation(tmp_path):
    settings = Settings(data_dir=tmp_path, sites=[SiteConfig(name="central")])
    with TestClient(create_app(settings, StubBackend(settings))) as c:
        caps = c.get("/openeo/1.2/").json()
        conformance = c.get("/openeo/1.2/conformance").json()["conformsTo"]
    assert "federation" not in caps
    assert not any("federation" in cls for cls in caps["conformsTo"] + conformance)


def test_well_known_and_root(client):
    versions = client.get("/.well-known/openeo").json()["versions"]
    assert [(v["api_version"], v["url"]) for v in versions] == [
        ("1.2.0", f"{API}/"),
        ("1.3.0", f"{BASE}/openeo/1.3/"),
    ]
    resp = client.get("/", follow_redirects=False)
    assert resp.status_code in (301, 302, 307, 308)
    # The bare host leads to the newest version.
    assert resp.headers["Location"] == f"{BASE}/openeo/1.3/"
    # Without the trailing slash the versioned root still works (one redirect).
    assert client.get("/openeo/1.2").json()["api_version"] == "1.2.0"
    assert client.get("/openeo/1.3").json()["api_version"] == "1.3.0"


@pytest.mark.parametrize("segment", ["1.2", "1.3"])
def test_each_version_links_and_conforms_to_itself(client, segment):
    """Links of an answer stay in the version asked; its conformance class is its own."""
    root = f"{BASE}/openeo/{segment}"
    caps = client.get(f"/openeo/{segment}/").json()
    number = caps["api_version"]
    assert number == f"{segment}.0"
    assert all(
        link["href"].startswith(f"{root}/")
        for link in caps["links"]
        if link["rel"] != "version-history"
    )
    classes = client.get(f"/openeo/{segment}/conformance").json()["conformsTo"]
    assert classes == caps["conformsTo"]
    assert f"https://api.openeo.org/{number}" in classes
    other = "1.2.0" if number == "1.3.0" else "1.3.0"
    assert f"https://api.openeo.org/{other}" not in classes
    collection = client.get(f"/openeo/{segment}/collections/ERA5_LAND").json()
    assert {link["href"] for link in collection["links"]} >= {f"{root}/", f"{root}/collections"}


def test_public_url_is_used_for_links(tmp_path):
    settings = Settings(data_dir=tmp_path, public_url="https://openeo.dedl.example/prefix/")
    with TestClient(create_app(settings, StubBackend(settings))) as c:
        well_known = c.get("/.well-known/openeo").json()
        caps = c.get("/openeo/1.2/").json()
    assert well_known["versions"][0]["url"] == "https://openeo.dedl.example/prefix/openeo/1.2/"
    assert all(
        link["href"].startswith("https://openeo.dedl.example/prefix/") for link in caps["links"]
    )


def test_conformance_file_formats_udfs_services(client):
    assert (
        "https://api.openeo.org/1.2.0" in client.get("/openeo/1.2/conformance").json()["conformsTo"]
    )
    formats = client.get("/openeo/1.2/file_formats").json()
    assert {"GTiff", "netCDF", "JSON"} <= set(formats["output"])
    assert client.get("/openeo/1.2/udf_runtimes").json() == {}
    assert client.get("/openeo/1.2/service_types").json() == {}


def test_collection_links_and_sites(client):
    doc = client.get("/openeo/1.2/collections/ERA5_LAND").json()
    links = {link["rel"]: link["href"] for link in doc["links"]}
    assert links["self"] == f"{API}/collections/ERA5_LAND"
    assert links["root"] == f"{API}/"
    assert links["parent"] == f"{API}/collections"
    assert doc["summaries"]["federation:backends"] == ["lumi"]
    assert doc["federation:backends"] == ["lumi"]
    assert "cube:dimensions" in doc


def test_collection_list_is_light_but_names_sites(client):
    body = client.get("/openeo/1.2/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert {"ERA5_LAND", "GFM_FLOOD", "S1_SSM"} <= set(ids)
    for c in body["collections"]:
        assert "cube:dimensions" not in c
        assert c["summaries"].keys() == {"federation:backends"}
        assert not any("datacube" in e for e in c.get("stac_extensions", []))
        assert any(link["rel"] == "self" for link in c["links"])
    assert {link["rel"] for link in body["links"]} >= {"self", "root"}


@pytest.mark.parametrize(
    ("path", "key", "total"), [("/collections", "collections", 5), ("/processes", "processes", 7)]
)
def test_catalog_lists_are_whole_whatever_the_limit(stub_client, path, key, total):
    # The Web Editor asks /processes?limit=50 and never follows `next`: these lists are not
    # paginated (the spec: back-ends without pagination return all resources).
    everything = [item["id"] for item in stub_client.get(f"/openeo/1.2{path}").json()[key]]
    assert len(everything) == total
    for query in ("limit=", "limit=2", "limit=2&offset=3", "limit=50", f"limit={2**70}"):
        body = stub_client.get(f"/openeo/1.2{path}?{query}").json()
        assert [item["id"] for item in body[key]] == everything, query
        assert not {"next", "prev", "first"} & {link["rel"] for link in body["links"]}
    # A malformed limit is still refused.
    assert stub_client.get(f"/openeo/1.2{path}?limit=0").status_code == 400


def test_pagination_walks_every_item_once(stub_client, stub_auth):
    total = 5
    for i in range(total):
        put = stub_client.put(f"/openeo/1.2/files/f{i}.txt", content=b"x", headers=stub_auth)
        assert put.status_code == 200, put.text
    everything = [f["path"] for f in stub_client.get("/openeo/1.2/files", headers=stub_auth)
                  .json()["files"]]  # fmt: skip
    assert len(everything) == total
    empty_limit = stub_client.get("/openeo/1.2/files?limit=", headers=stub_auth).json()["files"]
    assert [f["path"] for f in empty_limit] == everything  # empty limit: no pagination
    seen, url, pages = [], "/openeo/1.2/files?limit=2", 0
    while url:
        body = stub_client.get(url, headers=stub_auth).json()
        seen += [f["path"] for f in body["files"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0] if nxt else None
        pages += 1
        assert pages <= total
    assert seen == everything
    assert pages == -(-total // 2)
    last = stub_client.get(f"/openeo/1.2/files?limit=2&offset={total - 2}", headers=stub_auth)
    rels = {link["rel"] for link in last.json()["links"]}
    assert "next" not in rels and {"prev", "first"} <= rels


def test_processes_list_what_runs(client):
    ids = {p["id"] for p in client.get("/openeo/1.2/processes").json()["processes"]}
    assert {"load_collection", "save_result", "add", "reduce_dimension"} <= ids
    assert "run_udf" not in ids


def test_requests_are_logged(stub_client, caplog):
    with caplog.at_level(logging.INFO, logger="openeo_dedl.api"):
        stub_client.get("/openeo/1.2/collections/NOPE")
    lines = [r.getMessage() for r in caplog.records if r.name == "openeo_dedl.api"]
    assert any(
        line.startswith("GET /openeo/1.2/collections/NOPE -> 404 (") and "ms)" in line
        for line in lines
    ), lines


def test_lifespan_closes_only_its_own_backend(stub_settings, stub, monkeypatch):
    with TestClient(create_app(stub_settings, stub)):
        pass
    assert not stub.closed  # a given backend belongs to the caller
    created = []

    class Recording(StubBackend):
        def __init__(self, settings):
            super().__init__(settings)
            created.append(self)

    monkeypatch.setattr("openeo_dedl.api.app.Backend", Recording)
    with TestClient(create_app(stub_settings)) as c:
        assert c.get("/openeo/1.2/").json()["backend_version"] == "9.9.9-test"
        assert not created[0].closed
    assert created[0].closed


def test_repeated_slashes_in_paths_count_as_one(client, auth):
    # Base URL ending in "/" joined with "/jobs": what the openEO test suite requests.
    resp = client.get(f"{API}//jobs", headers=auth)
    assert resp.status_code == 200, resp.text
    assert client.get(f"{API}///collections").json()["collections"]

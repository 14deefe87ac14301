"""load_stac of STAC locations outside the configured catalogs, through a real server with the
openeo client: a static catalog served over HTTP on 127.0.0.1 (allowed by the server's
``security.load_stac_urls``, loopback named literally) and a folder on disk; values compared
with rasterio reads of the files. And what it refuses (a URL not on the list, an asset href or
a redirect leading out of it, a host name resolving to loopback), never fetching the target.
Also a batch job's netCDF result read again as a cube."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openeo
import pytest
import rasterio
import requests
import xarray as xr

from tests.support.servers import free_port, running_server, serving
from tests.support.users import USERS, login_url, user_configs

API = "/openeo/1.2"
S2 = "SENTINEL2_L2A"
ITEM = "SENTINEL2_L2A_bolzano_20220605"
DAY = ["2022-06-05", "2022-06-06"]
# Inside the item ITEM (EPSG:32632, 676320..678880 E, 5147320..5149880 N).
BOX = {"west": 11.30, "south": 46.46, "east": 11.32, "north": 46.475}
DEAD_PORT = free_port()
# Documents under /ext/slow/ are answered after SLOW_SECONDS; a read may take READ_SECONDS.
SLOW_SECONDS = 0.4
READ_SECONDS = 2


@dataclass
class Files:
    """The static catalog's folder, the HTTP server's base URL and the paths it was asked."""

    root: Path
    base: str = ""
    asked: list[str] = field(default_factory=list)


def _handler(files: Files):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def _redirect(self) -> bool:
            with_lock = self.path.split("?")[0]
            files.asked.append(f"{self.command} {with_lock}")
            if with_lock.startswith("/ext/broken/"):
                self.send_response(502)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
            if with_lock.startswith("/ext/slow/"):
                time.sleep(SLOW_SECONDS)  # then served as any file
                return False
            if with_lock.startswith("/ext/redirect/"):
                self.send_response(302)
                self.send_header("Location", f"{files.base}/outside/{with_lock.split('/')[-1]}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
            return False

        def do_GET(self):  # noqa: N802 - http.server's name
            if not self._redirect():
                super().do_GET()

        def do_HEAD(self):  # noqa: N802 - http.server's name
            if not self._redirect():
                super().do_HEAD()

        def log_message(self, *args):
            pass

    return functools.partial(Handler, directory=str(files.root))


def _write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def _catalog_files(root: Path, demo_catalog_dir: Path, base: str) -> None:
    """ext/S2 (a copy of the demo's S2 collection), ext/catalog.json (its parent), and
    collections whose items lead elsewhere."""
    shutil.copytree(demo_catalog_dir / S2, root / "ext" / "S2")
    shutil.copytree(demo_catalog_dir / S2 / ITEM, root / "outside" / ITEM)
    _write(
        root / "ext" / "catalog.json",
        {
            "type": "Catalog",
            "stac_version": "1.0.0",
            "id": "ext",
            "description": "outside the configured catalogs",
            "links": [{"rel": "child", "href": "./S2/collection.json"}],
        },
    )
    item = json.loads((root / "ext" / "S2" / ITEM / f"{ITEM}.json").read_text())
    for name, href in (
        ("escape", "http://10.9.9.9/data/B04.tif"),  # another host
        ("escape_path", f"{base}/outside/{ITEM}/B04.tif"),  # this host, outside the prefix
        ("escape_file", (root / "outside" / ITEM / "B04.tif").as_uri()),  # a file
        ("redirected_asset", f"{base}/ext/redirect/B04.tif"),  # answered by a redirect out
    ):
        doc = json.loads(json.dumps(item))
        doc["assets"] = {"B04": {**item["assets"]["B04"], "href": href}}
        doc["links"] = []
        _write(root / "ext" / name / "item.json", doc)
        _write(
            root / "ext" / name / "collection.json",
            {
                "type": "Collection",
                "stac_version": "1.0.0",
                "id": name,
                "description": name,
                "license": "proprietary",
                "extent": {
                    "spatial": {"bbox": [item["bbox"]]},
                    "temporal": {"interval": [[None, None]]},
                },
                "links": [{"rel": "item", "href": "./item.json"}],
            },
        )
    shutil.copy(root / "ext" / "S2" / "collection.json", root / "outside" / "collection.json")


@pytest.fixture(scope="module")
def files(tmp_path_factory, demo_catalog_dir) -> Iterator[Files]:
    state = Files(tmp_path_factory.mktemp("external-stac"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    _catalog_files(state.root, demo_catalog_dir, state.base)
    with serving(server):
        yield state


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_catalog_dir, files):
    port = files.base.rsplit(":", 1)[1]
    allowed = [
        str(demo_catalog_dir) + "/",  # the configured catalog, as by default
        {"url": f"{files.base}/ext/", "site": "lumi"},  # loopback, named literally
        str(files.root / "ext") + "/",  # a folder: read at default_site
        f"http://localhost:{port}/ext/",  # a host name resolving to loopback: not allowed
        f"http://127.0.0.1:{DEAD_PORT}/stac/",  # nothing listens there
    ]
    users = json.dumps([u.model_dump() for u in user_configs()])
    with running_server(
        tmp_path_factory.mktemp("load-stac-external"),
        demo_catalog_dir,
        OPENEO_DEDL_USERS=users,
        OPENEO_DEDL_SECURITY__LOAD_STAC_URLS=json.dumps(allowed),
        OPENEO_DEDL_SECURITY__LOAD_STAC_MAX_DOCUMENTS="50",
        OPENEO_DEDL_SECURITY__LOAD_STAC_READ_SECONDS=str(READ_SECONDS),
        OPENEO_DEDL_LIMITS__MAX_CHECKS_PER_USER="2",
    ) as url:
        yield url


@pytest.fixture(scope="module")
def alice(server):
    return openeo.connect(server).authenticate_basic("alice", USERS["alice"])


def _netcdf(cube, path: Path) -> xr.Dataset:
    cube.download(path, format="netCDF")
    ds = xr.open_dataset(path, engine="netcdf4").load()
    return ds.drop_vars([v for v in ("spatial_ref",) if v in ds.variables])


def _plan(connection, cube) -> dict:
    body = {"process_graph": cube.flat_graph()}
    return connection.post("/validation", json=body, expected_status=200).json()


def _equals_file(values: np.ndarray, xs, ys, tif: Path) -> None:
    """``values`` (y, x at pixel centres ``xs``, ``ys``) are the file's, no-data as NaN."""
    with rasterio.open(tif) as src:
        data = src.read(1)
        rows = [src.index(xs[0], y)[0] for y in ys]
        cols = [src.index(x, ys[0])[1] for x in xs]
        expected = data[np.ix_(rows, cols)].astype(float)
        if src.nodata is not None:
            expected[expected == src.nodata] = np.nan
    assert values.shape == expected.shape and np.isfinite(expected).any()
    np.testing.assert_array_equal(values, expected)


def test_a_static_collection_over_http_loads_with_the_files_values(alice, files, tmp_path):
    cube = alice.load_stac(
        f"{files.base}/ext/S2/collection.json",
        spatial_extent=BOX,
        temporal_extent=DAY,
        bands=["B04"],
    )
    ds = _netcdf(cube, tmp_path / "c.nc")
    assert list(ds.data_vars) == ["B04"] and ds.sizes["t"] == 1
    tif = files.root / "ext" / "S2" / ITEM / "B04.tif"
    _equals_file(ds["B04"].values[0], ds.x.values, ds.y.values, tif)
    assert ds.sizes["x"] < 256 and ds.sizes["y"] < 256  # the extent selected
    # The entry names the site: the load runs at lumi.
    answer = _plan(alice, cube)
    assert answer["errors"] == []
    assert [load["site"] for load in answer["openeo-dedl:plan"]["loads"]] == ["lumi"]
    # The same values as load_collection of the configured catalog's collection.
    by_id = _netcdf(
        alice.load_collection(S2, spatial_extent=BOX, temporal_extent=DAY, bands=["B04"]),
        tmp_path / "id.nc",
    )
    np.testing.assert_array_equal(ds["B04"].values, by_id["B04"].values)


def test_an_item_and_a_catalog_and_a_folder(alice, files, tmp_path):
    tif = files.root / "ext" / "S2" / ITEM / "B04.tif"
    item = alice.load_stac(f"{files.base}/ext/S2/{ITEM}/{ITEM}.json", bands=["B04"])
    ds = _netcdf(item, tmp_path / "item.nc")
    assert (ds.sizes["x"], ds.sizes["y"]) == (256, 256)
    _equals_file(ds["B04"].values[0], ds.x.values, ds.y.values, tif)
    # A catalog is walked to its collection's items.
    catalog = alice.load_stac(
        f"{files.base}/ext/catalog.json", temporal_extent=DAY, spatial_extent=BOX, bands=["B04"]
    )
    ds = _netcdf(catalog, tmp_path / "cat.nc")
    _equals_file(ds["B04"].values[0], ds.x.values, ds.y.values, tif)
    # A folder entry: read from disk, at default_site.
    on_disk = alice.load_stac(
        str(files.root / "ext" / "S2" / "collection.json"),
        temporal_extent=DAY,
        spatial_extent=BOX,
        bands=["B04"],
    )
    ds = _netcdf(on_disk, tmp_path / "disk.nc")
    _equals_file(ds["B04"].values[0], ds.x.values, ds.y.values, tif)
    loads = _plan(alice, on_disk)["openeo-dedl:plan"]["loads"]
    assert [load["site"] for load in loads] == ["central"]


def _errors(server, headers, url: str, **arguments) -> list[tuple[int, dict]]:
    """What /validation and /result answer for a load_stac of ``url``: (400, error) for each
    error /validation lists (it answers 200), then (status, body) of /result."""
    graph = {
        "l": {"process_id": "load_stac", "arguments": {"url": url, **arguments}},
        "s": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "l"}, "format": "netCDF"},
            "result": True,
        },
    }
    answers = []
    resp = requests.post(
        f"{server}{API}/validation", json={"process_graph": graph}, headers=headers, timeout=60
    )
    assert resp.status_code == 200, resp.text
    answers.extend((400, e) for e in resp.json()["errors"])
    resp = requests.post(
        f"{server}{API}/result",
        json={"process": {"process_graph": graph}},
        headers=headers,
        timeout=120,
    )
    answers.append((resp.status_code, resp.json()))
    return answers


@pytest.mark.parametrize(
    ("path", "names", "never_asked"),
    [
        ("/outside/collection.json", None, "/outside/"),  # not on the list
        ("/ext/escape/collection.json", "host '10.9.9.9'", None),
        ("/ext/escape_path/collection.json", "host '127.0.0.1'", "/outside/"),
        ("/ext/escape_file/collection.json", "file system", None),
        ("/ext/redirect/collection.json", "redirect to '127.0.0.1'", "/outside/"),
    ],
)
def test_what_leads_out_of_the_allowed_locations_is_refused(
    server, files, path, names, never_asked
):
    headers = login_url(server, "alice", USERS["alice"])
    answers = _errors(server, headers, f"{files.base}{path}")
    assert [a[0] for a in answers] == [400, 400], answers
    for _, error in answers:
        assert error["code"] == "ProcessParameterInvalid", error
        if names is not None:
            assert names in error["message"], error
    if never_asked is not None:
        assert not [p for p in files.asked if never_asked in p], files.asked


def test_an_asset_redirected_out_is_refused_before_it_is_read(server, files):
    headers = login_url(server, "alice", USERS["alice"])
    before = len(files.asked)
    [(status, error)] = _errors(
        server, headers, f"{files.base}/ext/redirected_asset/collection.json", bands=["B04"]
    )
    assert status == 400 and error["code"] == "ProcessParameterInvalid", error
    assert "redirect to '127.0.0.1'" in error["message"], error
    asked = files.asked[before:]
    assert "HEAD /ext/redirect/B04.tif" in asked
    assert not [p for p in asked if "/outside/" in p], asked


def test_a_host_name_resolving_to_loopback_is_refused_unless_allowed(server, files):
    headers = login_url(server, "alice", USERS["alice"])
    port = files.base.rsplit(":", 1)[1]
    before = len(files.asked)
    answers = _errors(server, headers, f"http://localhost:{port}/ext/S2/collection.json")
    assert [a[0] for a in answers] == [400, 400], answers
    assert all("non-public" in e["message"] for _, e in answers), answers
    assert files.asked[before:] == []


@pytest.mark.parametrize(
    "where", ["{base}/ext/broken/collection.json", "http://127.0.0.1:{dead}/stac/c.json"]
)
def test_an_allowed_location_that_cannot_be_read_is_a_503_naming_it(server, files, where):
    headers = login_url(server, "alice", USERS["alice"])
    url = where.format(base=files.base, dead=DEAD_PORT)
    answers = _errors(server, headers, url)
    assert [a[0] for a in answers] == [400, 503], answers  # /validation lists it, /result: 503
    for _, error in answers:
        assert error["code"] == "CatalogUnavailable", error
        assert "host '127.0.0.1'" in error["message"], error


def test_too_many_documents_are_refused(server, files, tmp_path):
    """More items than security.load_stac_max_documents (50 here): a clear 400."""
    folder = files.root / "ext" / "many"
    item = json.loads((files.root / "ext" / "S2" / ITEM / f"{ITEM}.json").read_text())
    links = []
    for i in range(60):
        doc = {**item, "id": f"i{i}", "links": []}
        _write(folder / f"i{i}.json", doc)
        links.append({"rel": "item", "href": f"./i{i}.json"})
    _write(folder / "catalog.json", {"type": "Catalog", "id": "many", "links": links})
    headers = login_url(server, "alice", USERS["alice"])
    answers = _errors(server, headers, f"{files.base}/ext/many/catalog.json")
    assert [a[0] for a in answers] == [400, 400], answers
    assert all("load_stac_max_documents" in e["message"] for _, e in answers), answers


def _slow_catalog(files: Files) -> str:
    """A catalog of 40 items under /ext/slow/ (16 s to read, each answered after 0.4 s)."""
    folder = files.root / "ext" / "slow"
    item = json.loads((files.root / "ext" / "S2" / ITEM / f"{ITEM}.json").read_text())
    links = []
    for i in range(40):
        _write(folder / f"i{i}.json", {**item, "id": f"i{i}", "links": []})
        links.append({"rel": "item", "href": f"./i{i}.json"})
    _write(folder / "catalog.json", {"type": "Catalog", "id": "slow", "links": links})
    return f"{files.base}/ext/slow/catalog.json"


def test_a_location_slower_than_its_time_budget_is_refused(server, files):
    """Refused once security.load_stac_read_seconds (2 s here) passed, by the API's validation
    and by the worker's run alike, not after every item."""
    url = _slow_catalog(files)
    headers = login_url(server, "alice", USERS["alice"])
    before = len(files.asked)
    started = time.monotonic()
    answers = _errors(server, headers, url)
    took = time.monotonic() - started
    assert [a[0] for a in answers] == [400, 400], answers
    assert all("load_stac_read_seconds" in e["message"] for _, e in answers), answers
    read = [p for p in files.asked[before:] if "/ext/slow/" in p]
    # Each of the two reads stops after about READ_SECONDS / SLOW_SECONDS documents.
    assert len(read) < 2 * (READ_SECONDS / SLOW_SECONDS + 3), read
    assert took < 2 * (READ_SECONDS + 3 * SLOW_SECONDS) + 10, took


def test_one_users_burst_of_checks_leaves_the_api_to_the_others(server, files):
    """alice sends four validations of the slow catalog at once; the API checks two of hers
    at a time (limits.max_checks_per_user = 2 here) and answers the others 503 at once,
    while bob's validation is answered as usual."""
    from concurrent.futures import ThreadPoolExecutor

    url = _slow_catalog(files)
    alice = login_url(server, "alice", USERS["alice"])
    bob = login_url(server, "bob", USERS["bob"])
    graph = {"l": {"process_id": "load_stac", "arguments": {"url": url}, "result": True}}

    def validate(headers):
        started = time.monotonic()
        resp = requests.post(
            f"{server}{API}/validation", json={"process_graph": graph}, headers=headers,
            timeout=60,
        )  # fmt: skip
        return resp, time.monotonic() - started

    with ThreadPoolExecutor(4) as pool:
        burst = [pool.submit(validate, alice) for _ in range(4)]
        time.sleep(0.5)  # all four are in
        bobs, bob_took = validate(bob)
        answers = [f.result() for f in burst]
    refused = [(r, took) for r, took in answers if r.status_code == 503]
    checked = [r for r, _ in answers if r.status_code == 200]
    assert len(refused) == 2 and len(checked) == 2, [(r.status_code, r.text) for r, _ in answers]
    for resp, took in refused:
        assert resp.json()["code"] == "ServiceUnavailable"
        assert "limits.max_checks_per_user" in resp.json()["message"]
        assert took < READ_SECONDS, took  # at once, not after waiting for a slot
    for resp in checked:
        assert "load_stac_read_seconds" in resp.json()["errors"][0]["message"]
    # bob is not alice: his check ran beside hers (it too reads the slow catalog).
    assert bobs.status_code == 200 and bobs.json()["errors"], bobs.text
    assert "load_stac_read_seconds" in bobs.json()["errors"][0]["message"]


def test_a_finished_jobs_netcdf_result_becomes_a_cube_again(alice, server, tmp_path):
    cube = alice.load_collection(
        S2, spatial_extent=BOX, temporal_extent=["2022-06-01", "2022-06-16"], bands=["B04", "B08"]
    )
    job = cube.create_job(out_format="netCDF", title="netcdf base")
    job.start_and_wait(max_poll_interval=0.5, print=lambda *a, **k: None)
    [asset] = job.get_results().get_assets()
    original = xr.open_dataset(asset.download(tmp_path / "job.nc"), engine="netcdf4").load()
    original = original.drop_vars([v for v in ("spatial_ref",) if v in original.variables])
    url = f"{server}{API}/jobs/{job.job_id}/results"
    again = _netcdf(alice.load_stac(url), tmp_path / "again.nc")
    assert sorted(again.data_vars) == ["B04", "B08"] and again.sizes["t"] > 1
    for band in ("B04", "B08"):
        np.testing.assert_array_equal(again[band].values, original[band].values)
    np.testing.assert_array_equal(again.t.values, original.t.values)
    # Bands and a time extent select.
    part = _netcdf(
        alice.load_stac(
            url, bands=["B08"], temporal_extent=[str(original.t.values[1])[:19] + "Z", "2022-06-16"]
        ),
        tmp_path / "part.nc",
    )
    assert list(part.data_vars) == ["B08"]
    np.testing.assert_array_equal(part["B08"].values, original["B08"].values[1:])
    loads = _plan(alice, alice.load_stac(url))["openeo-dedl:plan"]["loads"]
    assert [load["site"] for load in loads] == ["central"]

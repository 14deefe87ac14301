"""The demo catalog served by a real STAC API (stac-fastapi-pgstac, DEDL-style provider ids in
``federation:backends``) gives the backend the same collections, plans and results for both use
cases as the static catalog it was loaded from."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from examples import graphs
from openeo_dedl.api.app import create_app
from openeo_dedl.backend import Backend
from openeo_dedl.config import CatalogConfig, Settings
from tests.planning.test_demo_runs import run
from tests.support.stac_api import DEDL_PROVIDER_SITES, DEDL_PROVIDERS, UNKNOWN_PROVIDER

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # as tests/support/apps.py: httpx is what we have
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.e2e

USE_CASES = {"flood": graphs.FLOOD_JSON, "drought": graphs.DROUGHT_JSON}


def stac_api_settings(url: str, data_dir, **overrides) -> Settings:
    """The backend on a STAC API catalog configured the DEDL way (docs/configuration.md)."""
    return Settings(
        data_dir=data_dir,
        catalogs=[CatalogConfig(kind="stac_api", url=url)],
        provider_sites=DEDL_PROVIDER_SITES,
        **overrides,
    )


@pytest.fixture(scope="module")
def static_backend(demo_catalog_dir, tmp_path_factory):
    backend = Backend(
        Settings(data_dir=tmp_path_factory.mktemp("static"), demo_catalog_dir=demo_catalog_dir)
    )
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def api_backend(demo_stac_api, tmp_path_factory):
    backend = Backend(stac_api_settings(demo_stac_api.url, tmp_path_factory.mktemp("api")))
    yield backend
    backend.close()


def _plan(backend: Backend, path):
    return backend.prepare({"process_graph": graphs.read_graph(path)}).valid().plan()


def test_same_collections_with_our_site_names(static_backend, api_backend):
    ids = static_backend.collection_ids()
    assert api_backend.collection_ids() == ids and len(ids) >= 5
    for cid in ids:
        static, api = static_backend.collection_metadata(cid), api_backend.collection_metadata(cid)
        sites = api["summaries"]["federation:backends"]
        # Our site names, never the provider ids (nor the unknown one) the STAC API holds.
        assert sites == static["summaries"]["federation:backends"], cid
        assert not set(sites) & {*DEDL_PROVIDERS.values(), UNKNOWN_PROVIDER}
        assert api["extent"] == static["extent"], cid
        assert api.get("cube:dimensions") == static.get("cube:dimensions"), cid


@pytest.mark.parametrize("use_case", USE_CASES)
def test_same_plans_and_the_plan_names_the_provider_ids(use_case, static_backend, api_backend):
    static = _plan(static_backend, USE_CASES[use_case]).to_dict()
    api = _plan(api_backend, USE_CASES[use_case]).to_dict()
    providers = api.pop("providers")
    assert static.pop("providers") == {}
    assert api == static
    assert len(static["splits"]) + len(static["transfers"]) > 0
    # Every loaded collection's provider ids, each with the site it gave.
    graph = graphs.read_graph(USE_CASES[use_case])
    loaded = {n["arguments"]["id"] for n in graph.values() if n["process_id"] == "load_collection"}
    assert loaded and loaded <= set(providers)
    for mapping in providers.values():
        assert mapping and all(DEDL_PROVIDER_SITES[p] == site for p, site in mapping.items())


def test_the_api_lists_our_site_names(demo_stac_api, tmp_path):
    with TestClient(create_app(stac_api_settings(demo_stac_api.url, tmp_path))) as client:
        listed = client.get("/openeo/1.2/collections").json()["collections"]
        era5 = client.get("/openeo/1.2/collections/ERA5_LAND").json()
    assert {c["id"] for c in listed} >= {"ERA5_LAND", "S1_SSM", "GFM_FLOOD"}
    assert era5["summaries"]["federation:backends"] == ["lumi"]


@pytest.mark.parametrize("use_case", USE_CASES)
def test_same_results(use_case, static_backend, api_backend):
    static_value, _ = run(static_backend, _plan(static_backend, USE_CASES[use_case]))
    plan = _plan(api_backend, USE_CASES[use_case])
    (api,) = api_backend.catalog.apis
    searched = api.requests
    api_value, _ = run(api_backend, plan)
    # The loads read the items of the plan's searches: no second listing.
    assert api.requests == searched
    assert static_value.dims == api_value.dims and static_value.shape == api_value.shape
    for dim in static_value.dims:
        if dim in static_value.coords and dim != "geometry":
            assert np.array_equal(static_value[dim].values, api_value[dim].values), dim
    values = np.asarray(static_value.values, dtype=float)
    assert np.isfinite(values).any()
    np.testing.assert_array_equal(values, np.asarray(api_value.values, dtype=float))

"""load_stac of a collection of a STAC API catalog (stac-fastapi-pgstac, tests/support/stac_api.py):
the same plan and values as load_collection of it; an item of it (``/collections/{id}/items/
{item}``) as load_collection within the item's day, at the item's site; other URLs on the same
host are refused."""

from __future__ import annotations

import numpy as np
import pytest

from openeo_dedl.backend import Backend
from openeo_dedl.config import CatalogConfig, Settings
from tests.planning.test_demo_runs import run, run_prepared
from tests.support.stac_api import DEDL_PROVIDER_SITES

pytestmark = pytest.mark.e2e

LOAD = {
    "temporal_extent": ["2022-08-20", "2022-08-25"],
    "spatial_extent": {"west": 67.0, "south": 26.0, "east": 68.5, "north": 27.5},
}


@pytest.fixture(scope="module")
def backend(demo_stac_api, tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("load-stac-api"),
        catalogs=[CatalogConfig(kind="stac_api", url=demo_stac_api.url)],
        provider_sites=DEDL_PROVIDER_SITES,
    )
    backend = Backend(settings)
    yield backend
    backend.close()


def _graph(process_id: str, **arguments) -> dict:
    return {
        "process_graph": {
            "l": {"process_id": process_id, "arguments": {**arguments, **LOAD}},
            "r": {
                "process_id": "reduce_dimension",
                "arguments": {
                    "data": {"from_node": "l"},
                    "dimension": "t",
                    "reducer": {
                        "process_graph": {
                            "m": {
                                "process_id": "mean",
                                "arguments": {"data": {"from_parameter": "data"}},
                                "result": True,
                            }
                        }
                    },
                },
                "result": True,
            },
        }
    }


def test_a_stac_api_collection_loads_as_its_load_collection(backend, demo_stac_api):
    by_stac = backend.prepare(
        _graph("load_stac", url=f"{demo_stac_api.url}/collections/ERA5_LAND"), user="demo"
    )
    by_id = backend.prepare(_graph("load_collection", id="ERA5_LAND"), user="demo")
    plans = [p.valid().plan() for p in (by_stac, by_id)]
    assert plans[0].to_dict()["loads"] == plans[1].to_dict()["loads"]
    assert [load["site"] for load in plans[0].to_dict()["loads"]] == ["lumi"]
    (a, _), (b, _) = (run(backend, plan) for plan in plans)
    assert a.shape == b.shape and np.isfinite(np.asarray(a.values, dtype=float)).any()
    np.testing.assert_array_equal(np.asarray(a.values), np.asarray(b.values))


def test_a_stac_api_item_loads_as_load_collection_within_its_day(backend, demo_stac_api):
    item = "ERA5_LAND_pakistan_20220820"
    url = f"{demo_stac_api.url}/collections/ERA5_LAND/items/{item}"
    by_stac = backend.prepare(_graph("load_stac", url=url), user="demo").valid()
    day = {**LOAD, "temporal_extent": ["2022-08-20", "2022-08-21"]}
    graph = _graph("load_collection", id="ERA5_LAND")
    graph["process_graph"]["l"]["arguments"].update(day)
    by_id = backend.prepare(graph, user="demo").valid()
    (plan, a), (_, b) = (run_prepared(backend, p) for p in (by_stac, by_id))
    [source] = by_stac.stac_sources.values()
    assert [i["id"] for i in source.items] == [item]
    # Its site is the item's provider id (dedt_lumi) mapped by provider_sites.
    assert [load["site"] for load in plan.to_dict()["loads"]] == ["lumi"]
    assert a.shape == b.shape and np.isfinite(np.asarray(a.values, dtype=float)).any()
    np.testing.assert_array_equal(np.asarray(a.values), np.asarray(b.values))
    # No such item, or an item path of no collection: refused.
    for path in (f"ERA5_LAND/items/{item}x", f"NOT_THERE/items/{item}"):
        url = f"{demo_stac_api.url}/collections/{path}"
        [error] = backend.prepare(_graph("load_stac", url=url), user="demo").errors
        assert (error.status, error.code) == (400, "ProcessParameterInvalid"), error.message


@pytest.mark.parametrize(
    "path", ["/collections/NOT_THERE", "/collections/ERA5_LAND/items", "/search", ""]
)
def test_what_is_no_collection_of_the_api_is_refused(backend, demo_stac_api, path):
    prepared = backend.prepare(_graph("load_stac", url=f"{demo_stac_api.url}{path}"), user="demo")
    [error] = prepared.errors
    assert (error.status, error.code) == (400, "ProcessParameterInvalid")


def test_another_port_of_the_same_host_is_refused(backend, demo_stac_api):
    host, port = demo_stac_api.url.split("//")[1].split("/")[0].rsplit(":", 1)
    url = f"http://{host}:{int(port) + 1}/collections/ERA5_LAND"
    [error] = backend.prepare(_graph("load_stac", url=url), user="demo").errors
    assert "neither a STAC catalog" in error.message

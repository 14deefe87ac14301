"""load_stac of a collection of a STAC API that is no configured catalog (stac-fastapi-pgstac,
tests/support/stac_api.py), allowed by an entry of ``security.load_stac_urls``: its items are
searched within the load's extents (not all listed), read at the entry's site, and give the
values load_collection gives of the same collection in the configured static catalog."""

from __future__ import annotations

import numpy as np
import pytest

from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings
from tests.planning.test_demo_runs import run_prepared

pytestmark = pytest.mark.e2e

S2 = "SENTINEL2_L2A"
LOAD = {
    "temporal_extent": ["2022-06-05", "2022-06-06"],
    "spatial_extent": {"west": 11.30, "south": 46.46, "east": 11.32, "north": 46.475},
    "bands": ["B04"],
}


@pytest.fixture(scope="module")
def backend(demo_stac_api, demo_catalog_dir, tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("load-stac-external-api"),
        demo_catalog_dir=demo_catalog_dir,
        security={
            "load_stac_urls": [
                str(demo_catalog_dir) + "/",  # the configured (static) catalog
                {"url": f"{demo_stac_api.url}/", "site": "leonardo"},
            ]
        },
    )
    backend = Backend(settings)
    yield backend
    backend.close()


def _graph(process_id: str, **arguments) -> dict:
    return {
        "process_graph": {
            "l": {"process_id": process_id, "arguments": {**arguments, **LOAD}, "result": True}
        }
    }


def test_a_stac_api_outside_the_catalogs_is_searched_within_the_load(backend, demo_stac_api):
    url = f"{demo_stac_api.url}/collections/{S2}"
    by_stac = backend.prepare(_graph("load_stac", url=url), user="demo").valid()
    by_id = backend.prepare(_graph("load_collection", id=S2), user="demo").valid()
    plan, a = run_prepared(backend, by_stac)
    _, b = run_prepared(backend, by_id)
    # Only the item within the extents was read from the API (of the collection's eight).
    [source] = by_stac.stac_sources.values()
    assert [item["id"] for item in source.items] == ["SENTINEL2_L2A_bolzano_20220605"]
    assert [load["site"] for load in plan.to_dict()["loads"]] == ["leonardo"]
    assert a.shape == b.shape and np.isfinite(np.asarray(a.values, dtype=float)).any()
    np.testing.assert_array_equal(np.asarray(a.values), np.asarray(b.values))


def test_paths_of_the_api_that_name_no_collection_are_refused(backend, demo_stac_api):
    for path in ("/collections/NOT_THERE", "/search?collections=x"):
        prepared = backend.prepare(_graph("load_stac", url=f"{demo_stac_api.url}{path}"))
        [error] = prepared.errors
        assert (error.status, error.code) == (400, "ProcessParameterInvalid"), error.message

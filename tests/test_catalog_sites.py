"""Sites from ``federation:backends`` the DEDL way: provider ids mapped by ``provider_sites``,
site names as they are, unknown ids ignored and the documented fall-backs."""

from __future__ import annotations

import datetime as dt

import pydantic
import pystac
import pytest

from openeo_dedl.catalog import Catalog
from openeo_dedl.config import Settings
from tests.support.stac_api import DEDL_PROVIDER_SITES


@pytest.fixture(scope="module")
def catalog(demo_catalog_dir, tmp_path_factory) -> Catalog:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        demo_catalog_dir=demo_catalog_dir,
        provider_sites=DEDL_PROVIDER_SITES,
    )
    return Catalog(settings)


def item(backends) -> pystac.Item:
    properties = {} if backends is None else {"federation:backends": backends}
    return pystac.Item("x", None, None, dt.datetime(2022, 8, 1), properties, collection="S1_SSM")


def test_provider_ids_and_site_names_give_sites_in_their_order(catalog):
    record = catalog.record("S1_SSM")
    pairs = catalog.item_providers(item(["dedt_lumi", "eumetsat", "central", "lumi"]), record)
    assert pairs == [("dedt_lumi", "lumi"), ("central", "central")]


@pytest.mark.parametrize("backends", [["eumetsat"], [], None, "unknown", [3]])
def test_an_item_without_a_known_provider_is_at_its_collections_sites(catalog, backends):
    record = catalog.record("S1_SSM")
    assert record.sites == ["leonardo"]
    assert catalog.item_sites(item(backends), record) == ["leonardo"]


def test_provider_sites_must_name_configured_sites(tmp_path):
    with pytest.raises(pydantic.ValidationError, match="dedt_mars"):
        Settings(data_dir=tmp_path, provider_sites={"dedt_mars": "mars"})

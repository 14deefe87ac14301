"""A real STAC API for the tests: stac-fastapi-pgstac served by uvicorn on 127.0.0.1, on a
database of the tests' PostgreSQL (tests/postgres.py, with PostGIS), loaded with pypgstac.

``load_demo_catalog`` loads the generated static demo catalog into it, with the sites in
``federation:backends`` renamed to provider ids the DEDL's way (``DEDL_PROVIDERS``): the backend
maps them back with ``provider_sites`` (``DEDL_PROVIDER_SITES``).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pystac
import pytest
from sqlalchemy.engine import make_url

from tests.postgres import create_database
from tests.support.servers import free_port, stop_server, wait_until_serving

SITE_FIELD = "federation:backends"
# Our site -> the provider id the STAC API names it by (as the DEDL's HDA does: "dedt_lumi").
DEDL_PROVIDERS = {"central": "dedl_central", "lumi": "dedt_lumi", "leonardo": "dedt_leonardo"}
# The backend's ``provider_sites`` for them.
DEDL_PROVIDER_SITES = {provider: site for site, provider in DEDL_PROVIDERS.items()}
# A provider id no site is configured for: ignored by the backend (docs/configuration.md).
UNKNOWN_PROVIDER = "eumetsat"


class StacApi:
    """A running stac-fastapi-pgstac: its URL and the pgstac database behind it."""

    def __init__(self, url: str, dsn: str):
        self.url, self.dsn = url, dsn

    def _loader(self):
        from pypgstac.db import PgstacDB
        from pypgstac.load import Loader

        return PgstacDB(dsn=self.dsn), Loader

    def load_collections(self, collections: Iterable[dict]) -> None:
        from pypgstac.load import Methods

        db, loader = self._loader()
        with db:
            loader(db).load_collections(iter(list(collections)), insert_mode=Methods.upsert)

    def load_items(self, items: Iterable[dict]) -> None:
        """Items (dicts) in bulk, by pypgstac's loader (COPY), replacing items of equal id."""
        from pypgstac.load import Methods

        db, loader = self._loader()
        with db:
            loader(db).load_items(iter(items), insert_mode=Methods.upsert)

    def delete_item(self, collection_id: str, item_id: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("SET search_path TO pgstac, public")
            conn.execute("SELECT delete_item(%s, %s)", (item_id, collection_id))

    def delete_collection(self, collection_id: str) -> None:
        """The collection and its items gone (a module's own collection in the session's
        STAC API must not show in another module's listing)."""
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("SET search_path TO pgstac, public")
            conn.execute("SELECT delete_collection(%s)", (collection_id,))


def _dsn(sqlalchemy_url: str) -> str:
    """The libpq form of a ``postgresql+psycopg://`` URL (what pypgstac and psycopg take)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


def migrate(dsn: str) -> None:
    """pgstac's schema (of pypgstac's own version) in the database of ``dsn``."""
    from pypgstac.db import PgstacDB
    from pypgstac.migrate import Migrate

    with PgstacDB(dsn=dsn) as db:
        Migrate(db).run_migration()


@contextlib.contextmanager
def running_stac_api(server_url: str, log_path: Path) -> Iterator[StacApi]:
    """stac-fastapi-pgstac on a new, migrated database of ``server_url`` (an OS process)."""
    db_url = make_url(create_database(server_url))
    dsn = _dsn(db_url.render_as_string(False))
    migrate(dsn)
    port = free_port()
    env = {
        "PGUSER": db_url.username or "",
        "PGPASSWORD": db_url.password or "",
        "PGHOST": db_url.host or "127.0.0.1",
        "PGPORT": str(db_url.port),
        "PGDATABASE": db_url.database or "",
        "PATH": "/usr/bin:/bin",
    }
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "stac_fastapi.pgstac.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/_mgmt/ping", proc, log_path, timeout=60)
        yield StacApi(url, dsn)
    finally:
        stop_server(proc, timeout=10)
        log.close()


def dedl_style(fields: dict) -> None:
    """``federation:backends`` of ``fields`` (in place) as provider ids instead of site names."""
    value = fields.get(SITE_FIELD)
    if isinstance(value, list):
        fields[SITE_FIELD] = [DEDL_PROVIDERS.get(v, v) for v in value]


def demo_documents(catalog_dir: Path) -> tuple[list[dict], list[dict]]:
    """The demo catalog's collections and items as a STAC API holds them: asset hrefs file://
    URLs of the static catalog's files, no links of the static catalog, provider ids in
    ``federation:backends``; one collection also names a provider no site is configured for."""
    root = pystac.Catalog.from_file(str(catalog_dir / "catalog.json"))
    collections, items = [], []
    for coll in sorted(root.get_all_collections(), key=lambda c: c.id):
        doc = coll.to_dict(include_self_link=False, transform_hrefs=False)
        doc["links"] = [link for link in doc.get("links", []) if link.get("rel") == "license"]
        dedl_style(doc.get("summaries") or {})
        if not collections and SITE_FIELD in (doc.get("summaries") or {}):
            doc["summaries"][SITE_FIELD].append(UNKNOWN_PROVIDER)
        collections.append(doc)
        for item in coll.get_items(recursive=True):
            item.make_asset_hrefs_absolute()
            for asset in item.assets.values():
                # A URL, as a real STAC API gives: a bare path would be read relative to it.
                asset.href = Path(asset.href).as_uri()
            idoc = item.to_dict(include_self_link=False, transform_hrefs=False)
            idoc["links"] = []
            idoc["collection"] = coll.id
            dedl_style(idoc["properties"])
            items.append(idoc)
    return collections, items


@pytest.fixture(scope="session")
def stac_api(postgres_server_url, tmp_path_factory) -> Iterator[StacApi]:
    """A STAC API (stac-fastapi-pgstac) for the session, empty."""
    with running_stac_api(postgres_server_url, tmp_path_factory.mktemp("stac-api") / "log") as api:
        yield api


@pytest.fixture(scope="session")
def demo_stac_api(stac_api, demo_catalog_dir) -> StacApi:
    """The session's STAC API holding the demo catalog, DEDL style (see ``demo_documents``)."""
    collections, items = demo_documents(demo_catalog_dir)
    stac_api.load_collections(collections)
    stac_api.load_items(items)
    return stac_api

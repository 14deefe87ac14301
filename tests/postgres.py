"""A throw-away PostgreSQL server for tests: initdb + pg_ctl in a temp dir on a free port.

``scripts/ensure-postgres.sh`` (run by ``make test``) installs the server binaries. PostgreSQL
refuses to run as root, so as root the server runs as the ``postgres`` system user.
``OPENEO_DEDL_TEST_POSTGRES_URL`` points the tests at an existing server instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_USER = "openeo"


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A PostgreSQL cluster in a temp dir, listening on 127.0.0.1 only, with trust auth."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            pytest.fail("PostgreSQL is not installed: run scripts/ensure-postgres.sh (make test)")
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="openeo-dedl-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
            "--no-locale", "--no-sync",
        )  # fmt: skip
        # The free port may be taken before the server binds it (Dask clusters start too):
        # try a few.
        for attempt in range(5):
            # fsync off: a test database need not survive a power cut, and tests run faster.
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    "pg_ctl", "-D", str(self.data), "-o", options, "-l",
                    str(self.root / "log"), "-w", "start",
                )  # fmt: skip
                return
            except RuntimeError:
                log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
                if "Address already in use" not in log or attempt == 4:
                    shutil.rmtree(self.root, ignore_errors=True)
                    raise RuntimeError(f"PostgreSQL did not start:\n{log[-3000:]}") from None
                (self.root / "log").unlink()
                self.port = _free_port()

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"


def create_database(server_url: str) -> str:
    """A new, empty database on the server of ``server_url``; returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a running PostgreSQL server (started for the session unless given by env)."""
    given = os.environ.get("OPENEO_DEDL_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    server = PostgresServer()
    server.start()
    try:
        yield server.url()
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database: a SQLite file, then a new database on the test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return create_database(request.getfixturevalue("postgres_server_url"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request, tmp_path_factory) -> str:
    """A fresh database for a test module: a SQLite file, then one on the test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    return create_database(request.getfixturevalue("postgres_server_url"))


@pytest.fixture
def empty_database_url(module_database_url) -> str:
    """The module's database (migrated), emptied before each test: a fresh database for every
    test at the cost of a few DELETEs (creating a PostgreSQL database per test is slower)."""
    from openeo_dedl.storage import import_models
    from openeo_dedl.storage.db import Base, Database

    import_models()  # every model, so that Base.metadata knows every table

    db = Database(module_database_url)
    try:
        db.migrate()
        with db.session() as s:
            for table in reversed(Base.metadata.sorted_tables):
                s.execute(table.delete())
    finally:
        db.dispose()
    return module_database_url

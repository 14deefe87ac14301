"""Two first requests of a new user at the same moment both get the user's row."""

from __future__ import annotations

import threading

import pytest

from openeo_dedl.storage import Database
from openeo_dedl.storage.models import User
from openeo_dedl.storage.users import ensure_user


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_concurrent_first_uses_of_a_user_all_succeed(database_url):
    database = Database(database_url)
    database.migrate()
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def first_use(i: int) -> None:
        start.wait()
        try:
            with database.session() as s:
                ensure_user(s, "newcomer", name=f"n{i}" if i == 0 else None)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        with database.session() as s:
            assert s.get(User, "newcomer") is not None
    finally:
        database.dispose()

"""Subjects of any length: the user id fits the database's columns (PostgreSQL enforces them)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import pytest

from openeo_dedl.api.app import create_app
from openeo_dedl.api.oidc import MAX_USER_ID_LENGTH, oidc_user_id
from tests.api.conftest import StubBackend
from tests.auth_oidc.conftest import PROVIDER_ID, oidc_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

API = "/openeo/1.2"
USER_ID_PATTERN = re.compile(r"^[\w\-.~]+$")
GRAPH = {"add": {"process_id": "p01", "arguments": {}, "result": True}}
# Just short enough, just too long, and long once encoded ("@" is "~40", "ü" is "~c3~bc").
SUBJECTS = ["a" * (MAX_USER_ID_LENGTH - len(PROVIDER_ID) - 1), "a" * 300, "a@b" * 80, "ü" * 50,
            "x" * 5000]  # fmt: skip


@pytest.fixture(scope="module")
def client(tmp_path_factory, provider, module_database_url) -> Iterator[TestClient]:
    settings = oidc_settings(tmp_path_factory.mktemp("oidc-long"), provider, module_database_url)
    with TestClient(create_app(settings, StubBackend(settings))) as c:
        yield c


def test_long_ids_are_a_readable_prefix_and_a_hash():
    short = oidc_user_id("p", "a" * 200)
    assert short == "p~" + "a" * 200
    starts = {"a" * 300: "p~aaaa", "a@b" * 80: "p~a~40b", "ü" * 50: "p~~c3~bc", "x" * 5000: "p~xx"}
    for sub, start in starts.items():
        user_id = oidc_user_id("p", sub)
        assert len(user_id) <= MAX_USER_ID_LENGTH and USER_ID_PATTERN.match(user_id)
        assert user_id.startswith(start) and len(user_id) > 200
        digest = user_id[-64:]
        assert user_id[-66:-64] == "~h" and re.fullmatch("[0-9a-f]{64}", digest)
    # Distinct subjects stay distinct users, also when they share the first 200 characters.
    ids = {oidc_user_id("p", "a" * 300 + tail) for tail in ("", "b", "c", "~", "@")}
    assert len(ids) == 5
    # Never the same as a short id ("~h" does not occur in encoded subjects: "h" is no hex digit).
    assert oidc_user_id("p", "a" * 300) != oidc_user_id("p", "a" * 185 + "~h")


@pytest.mark.parametrize("sub", SUBJECTS)
def test_long_subjects_store_jobs_files_and_processes(client, provider, sub):
    auth = {"Authorization": f"Bearer oidc/{PROVIDER_ID}/{provider.issue(sub)}"}
    me = client.get(f"{API}/me", headers=auth)
    assert me.status_code == 200, me.text
    assert me.json()["user_id"] == oidc_user_id(PROVIDER_ID, sub)
    assert len(me.json()["user_id"]) <= MAX_USER_ID_LENGTH

    resp = client.post(f"{API}/jobs", json={"process": {"process_graph": GRAPH}}, headers=auth)
    assert resp.status_code == 201, resp.text
    job_id = resp.headers["OpenEO-Identifier"]
    assert [j["id"] for j in client.get(f"{API}/jobs", headers=auth).json()["jobs"]] == [job_id]

    resp = client.put(f"{API}/files/x.txt", content=b"x", headers=auth)
    assert resp.status_code == 200, resp.text
    assert client.get(f"{API}/files/x.txt", headers=auth).content == b"x"

    resp = client.put(f"{API}/process_graphs/p", json={"process_graph": GRAPH}, headers=auth)
    assert resp.status_code == 200, resp.text
    assert client.get(f"{API}/process_graphs/p", headers=auth).json()["process_graph"] == GRAPH


def test_a_subject_that_is_no_valid_unicode_is_refused(client, provider):
    token = provider.issue("a\ud800")
    auth = {"Authorization": f"Bearer oidc/{PROVIDER_ID}/{token}"}
    resp = client.get(f"{API}/me", headers=auth)
    assert resp.status_code == 403 and resp.json()["code"] == "TokenInvalid", resp.text

"""User B can neither see, read, replace, delete nor call user A's processes."""

from __future__ import annotations

from tests.api.conftest import assert_openeo_error
from tests.udps.test_process_graphs import calling, double

API = "/openeo/1.2"


def test_processes_are_private(client, alice, bob):
    assert (
        client.put(f"{API}/process_graphs/secret", json=double(), headers=alice).status_code == 200
    )
    try:
        assert client.get(f"{API}/process_graphs", headers=bob).json()["processes"] == []
        for method in ("GET", "DELETE"):
            resp = client.request(method, f"{API}/process_graphs/secret", headers=bob)
            assert_openeo_error(resp, 404, "ProcessGraphNotFound")
        # Bob's /validation and /result do not know alice's process.
        errors = client.post(f"{API}/validation", json=calling("secret"), headers=bob).json()
        assert [e["code"] for e in errors["errors"]] == ["ProcessUnsupported"]
        resp = client.post(f"{API}/result", json={"process": calling("secret")}, headers=bob)
        assert_openeo_error(resp, 400, "ProcessUnsupported")
        # Bob storing the same id makes his own process; alice's is unchanged.
        mine = double(factor=5)
        assert client.put(f"{API}/process_graphs/secret", json=mine, headers=bob).status_code == 200
        theirs = client.get(f"{API}/process_graphs/secret", headers=alice).json()
        assert theirs["process_graph"]["m"]["arguments"]["y"] == 2
        assert client.delete(f"{API}/process_graphs/secret", headers=bob).status_code == 204
        assert client.get(f"{API}/process_graphs/secret", headers=alice).status_code == 200
    finally:
        client.delete(f"{API}/process_graphs/secret", headers=alice)

"""User B never sees, reads, changes or deletes user A's files."""

from __future__ import annotations

from tests.api.conftest import assert_openeo_error

API = "/openeo/1.2"


def test_users_see_only_their_own_files(client, alice, bob):
    assert (
        client.put(f"{API}/files/private/plan.txt", content=b"alice's", headers=alice).status_code
        == 200
    )

    assert client.get(f"{API}/files", headers=bob).json()["files"] == []
    assert_openeo_error(
        client.get(f"{API}/files/private/plan.txt", headers=bob), 404, "FileNotFound"
    )
    assert_openeo_error(
        client.delete(f"{API}/files/private/plan.txt", headers=bob), 404, "FileNotFound"
    )
    # Bob writing the same path makes his own file; alice's stays as it was.
    assert (
        client.put(f"{API}/files/private/plan.txt", content=b"bob's", headers=bob).status_code
        == 200
    )
    assert client.get(f"{API}/files/private/plan.txt", headers=alice).content == b"alice's"
    assert client.get(f"{API}/files/private/plan.txt", headers=bob).content == b"bob's"
    assert client.delete(f"{API}/files/private/plan.txt", headers=bob).status_code == 204
    assert client.get(f"{API}/files/private/plan.txt", headers=alice).content == b"alice's"
    assert [f["path"] for f in client.get(f"{API}/files", headers=alice).json()["files"]] == [
        "private/plan.txt"
    ]

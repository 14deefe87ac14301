"""Federation extension v0.2.0 on the embedded default (local clusters): every site online,
nothing missing; processes carry their sites. (Sites down: tests/gateway/test_federation.py.)"""

from __future__ import annotations

import json

import requests

# The 1.3 extensions, tested where clients that declare them look.
API = "/openeo/1.3"


def _get(url: str, path: str) -> dict:
    resp = requests.get(f"{url}{API}{path}", timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_local_sites_are_online_and_nothing_is_missing(server):
    caps = _get(server, "/")
    assert {v["status"] for v in caps["federation"].values()} == {"online"}
    assert "federation:missing" not in _get(server, "/collections")
    assert json.dumps(_get(server, "/processes")).count("federation:missing") == 0

"""JSON request bodies larger than limits.max_body_bytes are refused before they are parsed."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import assert_openeo_error

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def settings(tmp_path_factory, demo_catalog_dir):
    from openeo_dedl.config import Settings

    return Settings(
        data_dir=tmp_path_factory.mktemp("body-size"),
        demo_catalog_dir=demo_catalog_dir,
        limits={"max_body_bytes": LIMIT},
    )


def _graph_of_size(size: int) -> bytes:
    graph = {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
    # The shape /validation takes (a process); the other endpoints refuse before parsing.
    body = json.dumps({"process_graph": graph, "title": ""})
    return body.replace('"title": ""', '"title": "' + "x" * (size - len(body)) + '"').encode()


@pytest.mark.parametrize("path", ["/result", "/validation", "/jobs", "/process_graphs/p"])
def test_a_body_over_the_limit_is_413(client, auth, path):
    body = _graph_of_size(LIMIT + 1)
    method = client.put if path.startswith("/process_graphs") else client.post
    resp = method(f"/openeo/1.2{path}", content=body, headers={**auth,
                  "Content-Type": "application/json"})  # fmt: skip
    error = assert_openeo_error(resp, 413, "PayloadTooLarge")
    assert "limits.max_body_bytes" in error["message"]


def test_a_chunked_body_over_the_limit_is_413(client, auth):
    body = _graph_of_size(4 * LIMIT)

    def chunks():
        for i in range(0, len(body), 4096):
            yield body[i : i + 4096]

    resp = client.post("/openeo/1.2/validation", content=chunks(),
                       headers={**auth, "Content-Type": "application/json"})  # fmt: skip
    assert_openeo_error(resp, 413, "PayloadTooLarge")


def test_a_body_within_the_limit_is_read(client, auth):
    resp = client.post("/openeo/1.2/validation", content=_graph_of_size(LIMIT - 10),
                       headers={**auth, "Content-Type": "application/json"})  # fmt: skip
    assert resp.status_code == 200, resp.text
    assert resp.json()["errors"] == []

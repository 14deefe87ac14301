"""Re-use of partition results on a real server (local Dask clusters per site): the flood use
case run again with a changed final step re-uses what came before it, with the values of a run
without re-use; changed inputs and other users re-use nothing; a batch job's log says so."""

from __future__ import annotations

import copy
import json

import openeo
import pytest

from examples import graphs
from tests.support.servers import running_server
from tests.support.users import USERS, user_configs
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def reuse_server(tmp_path_factory, demo_catalog_dir):
    users = [u.model_dump(mode="json") for u in user_configs()]
    with running_server(
        tmp_path_factory.mktemp("reuse-server"),
        demo_catalog_dir,
        OPENEO_DEDL_REUSE__ENABLED="true",
        OPENEO_DEDL_USERS=json.dumps(users),
    ) as url:
        yield url


def _connect(url: str, user: str) -> openeo.Connection:
    return openeo.connect(url).authenticate_basic(user, USERS[user])


def _run(connection: openeo.Connection, graph: dict) -> tuple[dict, dict]:
    response = connection.post(
        "/result", json={"process": {"process_graph": graph}}, expected_status=200, timeout=600
    )
    return response.json(), json.loads(response.headers["OpenEO-DEDL-Usage"])


def _node(graph: dict, process_id: str) -> dict:
    (node,) = [n for n in graph.values() if n["process_id"] == process_id]
    return node


def _with_mean_per_district(graph: dict) -> dict:
    """The flood graph with another final step: the mean per district instead of the sum."""
    changed = copy.deepcopy(graph)
    _node(changed, "aggregate_spatial")["arguments"]["reducer"]["process_graph"] = {
        "mean1": {
            "process_id": "mean",
            "arguments": {"data": {"from_parameter": "data"}},
            "result": True,
        }
    }
    return changed


def _with_shorter_precipitation_window(graph: dict) -> dict:
    changed = copy.deepcopy(graph)
    for node in changed.values():
        if node["arguments"].get("id") == "ERA5_LAND":
            node["arguments"]["temporal_extent"] = ["2022-08-01", "2022-11-01"]
    return changed


def _reused(usage: dict) -> dict[str, str]:
    return {r["node"]: r["partition"] for r in usage["reused"]}


def test_a_changed_final_step_reuses_the_partitions_before_it(reuse_server):
    flood = graphs.read_graph(graphs.FLOOD_JSON)
    alice = _connect(reuse_server, "alice")
    first, usage = _run(alice, flood)
    assert usage["reused"] == []

    changed = _with_mean_per_district(flood)
    second, usage = _run(alice, changed)
    reused = _reused(usage)
    # ERA5's sum at lumi (the partition output crossing sites) and the stacked bands at central
    # (the input of the final step) come from the first run.
    assert set(reused.values()) == {"p0", "p1"}, usage["reused"]
    assert flood[next(n for n, p in reused.items() if p == "p1")]["process_id"] == "merge_cubes"
    assert all(
        r["note"].startswith(f"re-used partition {r['partition']} from ") for r in usage["reused"]
    )
    assert second != first

    # Another user re-uses nothing of alice's, and computes the very same values.
    plain, usage = _run(_connect(reuse_server, "bob"), changed)
    assert usage["reused"] == []
    assert plain == second


def test_a_changed_input_reuses_nothing(reuse_server):
    flood = graphs.read_graph(graphs.FLOOD_JSON)
    alice = _connect(reuse_server, "alice")
    _run(alice, flood)  # kept (or already kept by the test before)
    _, usage = _run(alice, _with_shorter_precipitation_window(flood))
    # ERA5's window changed: its sum and everything after it is another value; the flood's and
    # the built-up loads are not partition outputs, so nothing matches.
    assert usage["reused"] == [], usage["reused"]


def test_a_batch_job_logs_what_it_reused(reuse_server):
    alice = _connect(reuse_server, "alice")
    flood = graphs.read_graph(graphs.FLOOD_JSON)
    _run(alice, flood)
    job = alice.create_job(_with_mean_per_district(flood))
    job.start_job()
    assert wait_until(lambda: job.status() in ("finished", "error"), timeout=300)
    assert job.status() == "finished", job.logs()
    lines = [entry["message"] for entry in job.logs()]
    assert any(line.startswith("re-used partition p0 from ") for line in lines), lines

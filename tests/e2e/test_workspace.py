"""A user's workspace through the real openEO Python client against a real server: OIDC login
(client credentials at a real test provider), user-defined processes used in a download, files
uploaded and downloaded, and users kept apart."""

from __future__ import annotations

import json

import numpy as np
import openeo
import pytest
import requests
import rioxarray
from openeo.rest import OpenEoApiError, OpenEoClientException

from openeo_dedl.api.oidc import oidc_user_id
from tests.auth_oidc.provider import Client, OidcTestProvider
from tests.e2e import scenarios
from tests.support.servers import running_server
from tests.support.users import USERS, user_configs

pytestmark = pytest.mark.e2e

PROVIDER = "testidp"
ROBOT_SUB = "robot@example.org"


@pytest.fixture(scope="module")
def provider():
    idp = OidcTestProvider(clients={"robot": Client(secret="robot-secret", sub=ROBOT_SUB)})
    idp.start()
    yield idp
    idp.stop()


@pytest.fixture(scope="module")
def workspace_server(tmp_path_factory, demo_catalog_dir, provider):
    users = [u.model_dump() for u in user_configs()]
    providers = [
        {
            "id": PROVIDER,
            "issuer": provider.issuer,
            "title": "Test IdP",
            "default_clients": [
                {
                    "id": "web-editor",
                    "grant_types": ["authorization_code+pkce", "refresh_token"],
                    "redirect_urls": ["https://editor.openeo.org/"],
                }
            ],
        }
    ]
    with running_server(
        tmp_path_factory.mktemp("workspace-server"),
        demo_catalog_dir,
        OPENEO_DEDL_USERS=json.dumps(users),
        OPENEO_DEDL_OIDC_PROVIDERS=json.dumps(providers),
    ) as url:
        yield url


@pytest.fixture(scope="module")
def alice(workspace_server):
    return openeo.connect(workspace_server).authenticate_basic("alice", USERS["alice"])


@pytest.fixture(scope="module")
def bob(workspace_server):
    return openeo.connect(workspace_server).authenticate_basic("bob", USERS["bob"])


@pytest.fixture(scope="module")
def robot(workspace_server):
    return openeo.connect(workspace_server).authenticate_oidc_client_credentials(
        client_id="robot", client_secret="robot-secret", provider_id=PROVIDER
    )


def test_oidc_client_credentials_login(workspace_server, robot, provider):
    providers = requests.get(f"{workspace_server}/openeo/1.2/credentials/oidc").json()
    assert [p["id"] for p in providers["providers"]] == [PROVIDER]
    assert robot.describe_account()["user_id"] == oidc_user_id(PROVIDER, ROBOT_SUB)
    # A wrong client secret is refused by the provider: no login.
    with pytest.raises(OpenEoClientException):
        openeo.connect(workspace_server).authenticate_oidc_client_credentials(
            client_id="robot", client_secret="wrong", provider_id=PROVIDER
        )
    # Tokens the server must refuse, sent the way the client sends them.
    me = f"{workspace_server}/openeo/1.2/me"
    for token, code in (
        (provider.issue(ROBOT_SUB, lifetime=-300), "TokenInvalid"),
        (provider.issue(ROBOT_SUB, issuer="http://127.0.0.1:9/other"), "TokenInvalid"),
        (provider.issue(ROBOT_SUB, kid="unknown-kid"), "TokenInvalid"),
    ):
        resp = requests.get(me, headers={"Authorization": f"Bearer oidc/{PROVIDER}/{token}"})
        assert (resp.status_code, resp.json()["code"]) == (403, code)
    resp = requests.get(me, headers={"Authorization": f"Bearer oidc/other/{provider.issue('x')}"})
    assert (resp.status_code, resp.json()["code"]) == (403, "TokenInvalid")


def test_files_upload_list_download_delete(alice, bob, robot, tmp_path):
    local = tmp_path / "in.csv"
    local.write_bytes(b"a,b\n1,2\n" * 1000)
    uploaded = alice.upload_file(local, target="inputs/table.csv")
    assert uploaded.metadata["size"] == local.stat().st_size
    assert [f.path.as_posix() for f in alice.list_files()] == ["inputs/table.csv"]
    got = alice.get_file("inputs/table.csv").download(tmp_path / "out.csv")
    assert got.read_bytes() == local.read_bytes()

    # Bob and the OIDC user have their own, empty workspaces and cannot read alice's file.
    assert bob.list_files() == [] and robot.list_files() == []
    for other in (bob, robot):
        with pytest.raises(OpenEoApiError) as info:
            other.get_file("inputs/table.csv").download(tmp_path / "stolen.csv")
        assert info.value.http_status_code == 404
    robot.upload_file(local, target="robot.csv")
    assert [f.path.as_posix() for f in robot.list_files()] == ["robot.csv"]

    alice.get_file("inputs/table.csv").delete()
    assert alice.list_files() == []


@pytest.fixture(scope="module")
def era5_box(alice):
    era5 = alice.describe_collection("ERA5_LAND")
    pakistan = min(era5["extent"]["spatial"]["bbox"][1:], key=lambda b: abs(b[0] - 68))
    bbox = scenarios.inner_bbox(pakistan, 0.4)
    _, start, end = scenarios.flood_window(alice)
    return bbox, start, end


SCALED_MEAN = {
    "mean": {
        "process_id": "reduce_dimension",
        "arguments": {
            "data": {"from_parameter": "data"},
            "dimension": "t",
            "reducer": {
                "process_graph": {
                    "m": {
                        "process_id": "mean",
                        "arguments": {"data": {"from_parameter": "data"}},
                        "result": True,
                    }
                }
            },
        },
    },
    "scale": {
        "process_id": "apply",
        "arguments": {
            "data": {"from_node": "mean"},
            "process": {
                "process_graph": {
                    "x": {
                        "process_id": "multiply",
                        "arguments": {
                            "x": {"from_parameter": "x"},
                            "y": {"from_parameter": "factor"},
                        },
                        "result": True,
                    }
                }
            },
        },
        "result": True,
    },
}


def test_user_defined_process_in_a_download(alice, bob, demo_catalog_dir, era5_box, tmp_path):
    from openeo.api.process import Parameter

    alice.save_user_defined_process(
        "scaled_mean",
        SCALED_MEAN,
        parameters=[
            Parameter.raster_cube(),
            Parameter.number("factor", description="Scale factor", default=1),
        ],
        summary="Mean over time, scaled",
    )
    assert [p["id"] for p in alice.list_user_defined_processes()] == ["scaled_mean"]
    stored = alice.user_defined_process("scaled_mean").describe()
    assert stored["process_graph"] == SCALED_MEAN

    bbox, start, end = era5_box
    cube = alice.load_collection(
        "ERA5_LAND",
        spatial_extent=bbox,
        temporal_extent=[start, end],
        bands=["total_precipitation"],
    )
    out = tmp_path / "scaled.tif"
    cube.process("scaled_mean", data=cube, factor=3, namespace="user").download(out, format="GTiff")
    got = rioxarray.open_rasterio(out, masked=True).isel(band=0)
    assert got.sizes["x"] >= 1 and got.sizes["y"] >= 1
    stack = scenarios.era5_precipitation(demo_catalog_dir, bbox, start, end)
    expected = (stack.mean("t") * 3).sel(x=got.x, y=got.y, method="nearest")
    np.testing.assert_allclose(got.values, expected.values, rtol=1e-5, equal_nan=True)

    # Without a namespace the user's process is found too; bob has no such process.
    plain = cube.process("scaled_mean", data=cube, factor=3)
    assert alice.validate_process_graph(plain) == []
    with pytest.raises(OpenEoApiError) as info:
        bob.load_collection(
            "ERA5_LAND",
            spatial_extent=bbox,
            temporal_extent=[start, end],
            bands=["total_precipitation"],
        ).process("scaled_mean", data=cube, namespace="user").download(tmp_path / "b.tif")
    assert info.value.code == "ProcessUnsupported"
    with pytest.raises(OpenEoApiError) as info:
        bob.user_defined_process("scaled_mean").describe()
    assert info.value.http_status_code == 404

    alice.user_defined_process("scaled_mean").delete()
    assert alice.list_user_defined_processes() == []

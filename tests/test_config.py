"""Settings: embedded default, TOML file, environment variables, validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from openeo_dedl.config import GatewayClusterConfig, LocalClusterConfig, Settings, load_settings


@pytest.fixture(autouse=True)
def _own_defaults(monkeypatch):
    """The settings as a deployment gets them, without the tests' threads-only sites."""
    monkeypatch.delenv("OPENEO_DEDL_SITES", raising=False)


def test_embedded_default_has_three_local_sites_and_the_demo_catalog():
    settings = Settings()
    assert [s.name for s in settings.sites] == ["central", "lumi", "leonardo"]
    assert all(isinstance(s.cluster, LocalClusterConfig) for s in settings.sites)
    assert all(s.cluster.processes for s in settings.sites)
    assert settings.effective_catalogs[0].url.endswith("demo-catalog/catalog.json")
    assert settings.effective_database_url.startswith("sqlite:///")


def test_toml_file_and_environment(tmp_path, monkeypatch):
    config = tmp_path / "dedl.toml"
    config.write_text(
        """
title = "From TOML"
default_site = "hpc"

[[sites]]
name = "hpc"
[sites.cluster]
kind = "gateway"
address = "http://gateway.example:8000"
auth = "basic"
username = "u"
password = "p"
cluster_options = { worker_cores = 2 }

[[sites]]
name = "cloud"

[limits]
sync_max_bytes = 1234
"""
    )
    monkeypatch.setenv("OPENEO_DEDL_LIMITS__SYNC_TIMEOUT_SECONDS", "7")
    monkeypatch.setenv("OPENEO_DEDL_TITLE", "From env")
    settings = load_settings(config)
    assert settings.title == "From env"  # the environment wins over the file
    assert settings.limits.sync_max_bytes == 1234
    assert settings.limits.sync_timeout_seconds == 7
    hpc = settings.site("hpc")
    assert isinstance(hpc.cluster, GatewayClusterConfig)
    assert hpc.cluster.password.get_secret_value() == "p"
    assert hpc.cluster.cluster_options == {"worker_cores": 2}
    assert isinstance(settings.site("cloud").cluster, LocalClusterConfig)


_GATEWAY = {
    "kind": "gateway",
    "address": "http://gateway.example:8000",
    "auth": "basic",
    "username": "u",
    "password": "p",
}


def test_a_complete_gateway_site_is_accepted():
    settings = Settings(sites=[{"name": "central", "cluster": _GATEWAY}])
    cluster = settings.site("central").cluster
    assert isinstance(cluster, GatewayClusterConfig)
    assert cluster.connect_timeout_seconds == 120


@pytest.mark.parametrize(
    "overrides",
    [
        {"default_site": "nowhere"},
        {"sites": [{"name": "a"}, {"name": "a"}], "default_site": "a"},
        {"sites": [{"name": "bad name"}], "default_site": "bad name"},
        {"catalogs": [{"url": "x.json", "site": "nowhere"}]},
        {"no_such_setting": 1},
        # Misspelt keys of a site and its cluster are errors, not silently ignored.
        {"sites": [{"name": "central", "titel": "x"}]},
        {"sites": [{"name": "central", "cluster": {"kind": "local", "worker": 2}}]},
        {"sites": [{"name": "central", "cluster": {**_GATEWAY, "adaptiv_max": 3}}]},
        {"sites": [{"name": "central", "cluster": {**_GATEWAY, "pasword": "x"}}]},
        # Basic auth needs both a user name and a password.
        {"sites": [{"name": "central", "cluster": {**_GATEWAY, "password": None}}]},
        {"sites": [{"name": "central", "cluster": {**_GATEWAY, "username": None}}]},
        {"sites": [{"name": "central", "cluster": {**_GATEWAY, "connect_timeout_seconds": 0}}]},
    ],
)
def test_invalid_settings_are_rejected(overrides):
    with pytest.raises(ValidationError):
        Settings(**overrides)


def test_load_settings_leaves_the_environment_alone_and_is_thread_safe(tmp_path, monkeypatch):
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.delenv("OPENEO_DEDL_CONFIG", raising=False)
    monkeypatch.delenv("OPENEO_DEDL_TITLE", raising=False)
    files = []
    for name in ("first", "second", "third"):
        path = tmp_path / f"{name}.toml"
        path.write_text(f'title = "{name}"\n')
        files.append((name, path))
    seen: set[str] = set()
    done = threading.Event()

    def watch() -> None:  # what any other thread would read meanwhile
        while not done.is_set():
            value = os.environ.get("OPENEO_DEDL_CONFIG")
            if value is not None:
                seen.add(value)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(3) as pool:
            titles = list(pool.map(lambda f: (f[0], load_settings(f[1]).title), files * 30))
    finally:
        done.set()
        watcher.join()
    assert all(expected == title for expected, title in titles)
    assert not seen
    assert "OPENEO_DEDL_CONFIG" not in os.environ
    # The file named by the environment is still read when none is passed.
    monkeypatch.setenv("OPENEO_DEDL_CONFIG", str(files[1][1]))
    assert load_settings().title == "second" and load_settings(files[2][1]).title == "third"


def test_load_stac_urls_take_catalogs_and_well_formed_locations_outside_them(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text(
        '[security]\nload_stac_urls = [\n  "var/demo-catalog/",\n'
        '  "https://stac.example.org/v1/",\n  "/srv/stac/",\n'
        '  { url = "https://data.example.org/stac/", site = "lumi" },\n'
        '  { url = "http://stac.internal:8080/", private_addresses = true },\n]\n'
    )
    entries = load_settings(toml).security.load_stac_urls
    assert entries[:3] == ["var/demo-catalog/", "https://stac.example.org/v1/", "/srv/stac/"]
    assert (entries[3].url, entries[3].site, entries[3].private_addresses) == (
        "https://data.example.org/stac/",
        "lumi",
        False,
    )
    assert entries[4].site is None and entries[4].private_addresses


@pytest.mark.parametrize(
    "entry",
    [
        "ftp://stac.example.org/",
        "https://user:pw@stac.example.org/",
        "https://stac.example.org/?q=1",
        "http:///no-host",
        "/srv/../etc/",
    ],
)
def test_load_stac_urls_neither_a_catalog_nor_a_location_are_refused(entry):
    with pytest.raises(ValidationError, match="lies in no configured catalog"):
        Settings(security={"load_stac_urls": [entry]})


def test_a_load_stac_entry_naming_an_unknown_site_is_refused():
    with pytest.raises(ValidationError, match="unknown site 'mars'"):
        Settings(security={"load_stac_urls": [{"url": "https://s.example.org/", "site": "mars"}]})

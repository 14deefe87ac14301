"""The one rule of what load_stac's url may name (locations.stac_location: pure, no lookup)."""

from __future__ import annotations

import pytest

from openeo_dedl.locations import Refused, StacAllowList, UrlPrefix, stac_location

ALLOW = StacAllowList(
    folders=("/srv/catalog/",),
    prefixes=(UrlPrefix.parse("http://127.0.0.1:8081/stac"),),
)


@pytest.mark.parametrize(
    "url",
    [
        "/srv/catalog/S2/collection.json",
        "file:///srv/catalog/S2/collection.json",
        # A configured catalog may be on this machine: the back-end reads it anyway.
        "http://127.0.0.1:8081/stac/collections/S2",
    ],
)
def test_locations_of_the_configured_catalogs_are_allowed(url):
    assert stac_location(url, ALLOW).job is None


@pytest.mark.parametrize(
    "url",
    [
        "/srv/catalog/../../etc/passwd",
        "file:///srv/catalog/%2e%2e/%2e%2e/etc/passwd",
        "file://evil/srv/catalog/S2/collection.json",
        "/srv/catalogue/S2/collection.json",
        "file:///etc/passwd",
        "http://127.0.0.1:8082/stac/collections/S2",
        "http://127.0.0.1:8081/stac2/collections/S2",
        "http://10.0.0.1/stac/collections/S2",
        "ftp://example.org/catalog.json",
        "S2/collection.json",
        "",
    ],
)
def test_everything_else_is_refused(url):
    with pytest.raises(Refused):
        stac_location(url, ALLOW)


def test_job_results_of_this_back_end_are_recognised_by_their_path():
    found = stac_location("http://10.0.0.1:9/openeo/1.2/jobs/abc123/results", ALLOW)
    assert (found.job, found.signed) == ("abc123", None)
    signed = stac_location(
        "http://h/openeo/1.2/download/abc123/item.json?expires=99&signature=x%2By", ALLOW
    )
    assert (signed.job, signed.signed) == ("abc123", ("99", "x+y"))
    for other in ("http://h/openeo/1.2/jobs/abc/logs", "http://h/jobs/abc/results"):
        with pytest.raises(Refused):
            stac_location(other, ALLOW)


def test_with_a_public_url_only_job_urls_under_it_are_this_back_ends():
    own = StacAllowList(own=UrlPrefix.parse("https://openeo.example.org/api"))
    found = stac_location("https://openeo.example.org/api/openeo/1.2/jobs/j1/results", own)
    assert found.job == "j1"
    with pytest.raises(Refused):
        stac_location("https://elsewhere.example.org/openeo/1.2/jobs/j1/results", own)


def test_a_folder_entry_holds_only_what_really_lies_in_it(tmp_path):
    """A symbolic link inside an allowed folder does not lead out of it (the fetcher of
    load_stac outside the configured catalogs, execution/stac_fetch.py)."""
    from openeo_dedl.execution.stac_fetch import StacEntry, StacFetcher

    folder = tmp_path / "stac"
    folder.mkdir()
    (folder / "item.json").write_text("{}")
    (tmp_path / "secret.json").write_text("{}")
    (folder / "link.json").symlink_to(tmp_path / "secret.json")
    fetcher = StacFetcher((StacEntry(f"{folder}/", None, "central"),), 1024, 1.0)
    assert fetcher.entry(str(folder / "item.json")) is not None
    assert fetcher.entry(f"file://{folder}/item.json") is not None
    for outside in (
        str(folder / "link.json"),
        str(tmp_path / "secret.json"),
        f"{folder}/../secret.json",
        f"file://{folder}/%2e%2e/secret.json",
        "http://127.0.0.1/stac/item.json",
    ):
        assert fetcher.entry(outside) is None, outside

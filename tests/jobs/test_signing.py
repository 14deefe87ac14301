"""Signed result URLs: bound to job, file, expiry and run; expired links are refused."""

from __future__ import annotations

import time

import pytest

from openeo_dedl.errors import ResultLinkExpired, ResultLinkInvalid
from openeo_dedl.jobs import UrlSigner

SECRET = b"x" * 32


def test_a_fresh_link_checks_out():
    signer = UrlSigner(SECRET)
    expires, signature = signer.sign("j-1", "result.tif", 60, run="7")
    assert expires > time.time()
    signer.check("j-1", "result.tif", str(expires), signature, run="7")


@pytest.mark.parametrize(
    ("job", "name", "delta", "run"),
    [("j-2", "result.tif", 0, "7"), ("j-1", "other.tif", 0, "7"), ("j-1", "result.tif", 1, "7"),
     ("j-1", "result.tif", 0, "8")],
)  # fmt: skip
def test_any_change_breaks_the_signature(job, name, delta, run):
    signer = UrlSigner(SECRET)
    expires, signature = signer.sign("j-1", "result.tif", 60, run="7")
    with pytest.raises(ResultLinkInvalid):
        signer.check(job, name, str(expires + delta), signature, run=run)


def test_another_secret_does_not_verify():
    expires, signature = UrlSigner(SECRET).sign("j-1", "a.json", 60, run="1")
    with pytest.raises(ResultLinkInvalid):
        UrlSigner(b"y" * 32).check("j-1", "a.json", str(expires), signature, run="1")


def test_expired_and_malformed_expiries():
    signer = UrlSigner(SECRET)
    past = int(time.time()) - 1
    signature = signer.signature("j-1", "a.json", past, "1")
    with pytest.raises(ResultLinkExpired):
        signer.check("j-1", "a.json", str(past), signature, run="1")
    for bad in ("", "-5", "1e9", "abc", "１２", "9" * 21, "9" * 5000):
        with pytest.raises(ResultLinkInvalid):
            signer.check("j-1", "a.json", bad, signature, run="1")

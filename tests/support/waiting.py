"""Waiting for something to become true (polling, with a deadline)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], object], timeout: float = 30.0, every: float = 0.1) -> bool:
    """True as soon as ``condition()`` is truthy; False once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every)


def wait_for_value(
    fetch: Callable[[], T], done: Callable[[T], bool], timeout: float, what: str, every=0.1
) -> T:
    """The first value of ``fetch()`` that is ``done``; AssertionError naming ``what`` and the
    last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} after {timeout} s: {value!r}")
        time.sleep(every)

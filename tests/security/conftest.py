"""A real HTTP listener on 127.0.0.1 that records every connection and request it gets."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from tests.support.servers import serving

POLYGON = {
    "type": "Polygon",
    "coordinates": [[[67.2, 26.2], [67.8, 26.2], [67.8, 26.8], [67.2, 26.8], [67.2, 26.2]]],
}


@dataclass
class Listener:
    """What the listener saw, and what it answers (path -> handler writing the response)."""

    port: int = 0
    connections: int = 0
    requests: list[tuple[str, dict]] = field(default_factory=list)
    routes: dict[str, Callable] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _handler(listener: Listener):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            with listener.lock:
                listener.requests.append((self.path, dict(self.headers)))
            route = listener.routes.get(self.path.split("?")[0])
            if route is None:
                body = json.dumps(POLYGON).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/geo+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                route(self)

        def log_message(self, *args):
            pass

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    listener: Listener

    def verify_request(self, request, client_address) -> bool:
        with self.listener.lock:
            self.listener.connections += 1
        return True


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A listener on 127.0.0.1 (any path answers a GeoJSON polygon unless routed otherwise)."""
    state = Listener()
    server = _Server(("127.0.0.1", 0), _handler(state))
    server.listener = state
    state.port = server.server_address[1]
    with serving(server):
        yield state


def wait_briefly() -> None:
    """Time for a connection that was (wrongly) made to be seen by the listener."""
    time.sleep(0.2)

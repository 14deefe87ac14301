"""uvicorn's h11 protocol with openEO answers to requests it cannot parse.

uvicorn answers a request h11 refuses (malformed, or a head past ``h11_max_incomplete_event_size``)
with a plain-text 400 and closes the connection at once. Closing a socket with unread bytes makes
the kernel reset the connection, so a client still sending a large header never reads the answer.
:class:`OpenEOH11Protocol` instead answers openEO error JSON with the right status (431 for a too
large head, 414 when it is the request line, 400 otherwise), then stops sending (half-close) and
reads and drops what the client still sends, for a bounded time and number of bytes, before it
closes: the "lingering close" of RFC 9112 §9.6.
"""

from __future__ import annotations

import json

import h11
from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol

from openeo_dedl.api.headers import head_too_large
from openeo_dedl.errors import BadRequest

# How long, and how many bytes, a refused connection is read (and dropped) before it is closed.
LINGER_SECONDS = 5.0
LINGER_MAX_BYTES = 8 * 1024**2


class OpenEOH11Protocol(H11Protocol):
    """:class:`H11Protocol` answering unparsable requests with openEO JSON and a lingering
    close."""

    _lingering = False
    _dropped = 0

    def data_received(self, data: bytes) -> None:
        """Pass ``data`` to h11, or drop it while the connection lingers before its close."""
        if not self._lingering:
            super().data_received(data)
            return
        self._dropped += len(data)
        if self._dropped > LINGER_MAX_BYTES:
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """Answer the request h11 refused (uvicorn calls this for every RemoteProtocolError)."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # The app is at this request (h11 refused its body): it sees a disconnect, and
            # whatever it still sends is dropped, as when a client goes away.
            cycle.disconnected = True
            cycle.message_event.set()
            if cycle.response_started:
                # Its answer has begun: no other can be sent.
                self.transport.close()
                return
        buffered, _ = self.conn.trailing_data
        # The limit uvicorn gave h11 (as uvicorn itself reads h11's default).
        limit = self.config.h11_max_incomplete_event_size or DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
        line_end = buffered.find(b"\r\n")
        line = len(buffered) if line_end < 0 else line_end
        error = head_too_large(line, len(buffered), limit) or BadRequest(
            "The request is not valid HTTP/1.1."
        )
        body = json.dumps(error.to_dict()).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        reason = STATUS_PHRASES.get(error.status, b"")
        for event in (
            h11.Response(status_code=error.status, headers=headers, reason=reason),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.logger.warning("refused an unparsable request: %s %s", error.status, error.message)
        self._linger()

    def _linger(self) -> None:
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def eof_received(self) -> bool | None:
        """The client closed its side: a lingering connection is done."""
        if self._lingering:
            self.transport.close()
        return super().eof_received()

    def shutdown(self) -> None:
        """Close at server shutdown; a lingering connection has nothing left to finish."""
        if self._lingering:
            self.transport.close()
            return
        super().shutdown()

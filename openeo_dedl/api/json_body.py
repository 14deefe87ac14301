"""The JSON request bodies of the API: their media type and their text.

:func:`json_body` is the dependency of every route that reads a JSON body: it refuses a
``Content-Type`` that says the body is something else (415 ``ContentTypeInvalid``), then parses
the body with :func:`~openeo_dedl.api.models.process_body`. :func:`unicode_json_body` also
refuses strings with unpaired surrogates (JSON's ``"\\ud800"``): they are no Unicode text
(RFC 8259 §8.2, I-JSON RFC 7493 §2.1), cannot be encoded as UTF-8, and an answer that echoes one
could not be sent.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request

from openeo_dedl.api.models import process_body
from openeo_dedl.errors import ContentTypeInvalid, JsonInvalid, OpenEOError

# Media types a JSON body may come with: JSON itself (and +json types), and what clients send
# for a JSON text when not told better: curl's -d (form encoding), fetch() with a string (text).
_ACCEPTED = {"application/json", "application/x-www-form-urlencoded", "text/plain"}
_MEDIA_TYPE = re.compile(r"^[!#$%&'*+.^_`|~0-9a-z-]+/[!#$%&'*+.^_`|~0-9a-z-]+$")
_CHARSET = re.compile(r"""(?:^|;)\s*charset\s*=\s*"?([^";\s]*)"?""", re.IGNORECASE)


def content_type_error(content_type: str | None) -> OpenEOError | None:
    """The 415 error for a request body declared as ``content_type``, or None when a JSON body
    may come with it (no ``Content-Type`` at all included)."""
    if content_type is None or not content_type.strip():
        return None
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    charset = _CHARSET.search(params)
    if _MEDIA_TYPE.match(media_type) and (media_type in _ACCEPTED or media_type.endswith("+json")):
        if charset is None or charset.group(1).lower() in ("utf-8", "utf8"):
            return None
        reason = f"the charset '{charset.group(1)[:32]}' (JSON is read as UTF-8)"
    else:
        shown = content_type.strip()[:64].encode("ascii", "backslashreplace").decode()
        reason = f"'{shown}'"
    return ContentTypeInvalid(
        f"The media type is not supported: {reason}. Allowed: application/json."
    )


async def json_body(request: Request) -> Any:
    """FastAPI dependency: the JSON request body, after its ``Content-Type`` is checked."""
    error = content_type_error(request.headers.get("Content-Type"))
    if error is not None:
        raise error
    return await process_body(request)


def has_lone_surrogate(value: Any) -> bool:
    """Whether a string (or object key) anywhere in the JSON ``value`` has an unpaired surrogate.

    Iterative: request bodies may be nested deeply.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _has_surrogate(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _has_surrogate(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


async def unicode_json_body(request: Request) -> Any:
    """FastAPI dependency: :func:`json_body`, refused (400 ``JsonInvalid``) when a string in it
    has an unpaired surrogate."""
    body = await json_body(request)
    if has_lone_surrogate(body):
        raise JsonInvalid(
            "The request body is not valid JSON text: a string has an unpaired surrogate "
            "(such as \\ud800), which is no Unicode character."
        )
    return body

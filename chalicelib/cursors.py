"""The one cursor codec: the position a paged list resumes from, as an opaque URL-safe string.
What a position may hold, and whether it lies within the list asked for, each list checks itself
(catalog/query.py, records/audit.py, fhir/search.py): a cursor is never trusted for a partition."""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Dict, Mapping

MAX_CURSOR_CHARS = 2048


class InvalidCursor(ValueError):
    """Not a cursor this codec made (each list answers it as its own 400)."""


def encode(position: Mapping[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str) -> Dict[str, Any]:
    """The position a cursor carries: a JSON object, else InvalidCursor."""
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursor("not a cursor")
    try:
        decoded = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidCursor("not a cursor") from None
    if not isinstance(decoded, dict):
        raise InvalidCursor("not a cursor")
    return decoded

"""JSON responses as this API writes them: UTF-8, so that French reads as French."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Optional

from chalice import Response


def json_response(body: Any, status: int = 200, headers: Optional[Mapping[str, str]] = None,
                  content_type: str = "application/json") -> Response:
    return Response(body=_serialize(body), status_code=status,
                    headers={"Content-Type": content_type, **(headers or {})})


def _serialize(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def cacheable_json(body: Any, if_none_match: Optional[str], max_age: int) -> Response:
    """Public JSON that browsers and CDNs may keep `max_age` seconds (see `conditional`)."""
    return conditional(_serialize(body), if_none_match, f"public, max-age={max_age}",
                       {"Content-Type": "application/json"})


def conditional(text: str, if_none_match: Optional[str], cache_control: str,
                headers: Optional[Mapping[str, str]] = None, status: int = 200) -> Response:
    """A body that caches may keep as `cache_control` says, with a strong ETag (a hash of the
    body), and 304 without a body when the client already holds it (RFC 9110 section 13.1.2)."""
    tag = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
    validators = {"Cache-Control": cache_control, "ETag": tag}
    held = {candidate.strip().removeprefix("W/") for candidate in (if_none_match or "").split(",")}
    if status == 200 and (tag in held or "*" in held):
        return Response(body="", status_code=304, headers={**{k: v for k, v in (headers or {}).items()
                                                              if k.lower() == "vary"}, **validators})
    return Response(body=text, status_code=status, headers={**(headers or {}), **validators})

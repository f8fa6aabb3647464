"""JSON responses as this API writes them: UTF-8, so that French reads as French."""
from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from chalice import Response


def json_response(body: Any, status: int = 200, headers: Optional[Mapping[str, str]] = None,
                  content_type: str = "application/json") -> Response:
    return Response(body=json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False),
                    status_code=status, headers={"Content-Type": content_type, **(headers or {})})

"""OpenAPI 3.1 description of the citizen's export (/me/export)."""
from __future__ import annotations

from typing import Dict, List

_COOKIE: List[Dict[str, List[str]]] = [{"session": []}]
_UNAUTHENTICATED = {"$ref": "#/components/responses/Unauthenticated"}
_JOB = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExportJob"}}}}

PATHS = {
    "/me/export": {
        "post": {
            "operationId": "askExport", "tags": ["citizen"], "security": _COOKIE,
            "summary": "Prepare the archive of my whole record (or follow the one under way)",
            "responses": {
                "202": {"description": "Being prepared (a new job, or the one under way)",
                        "headers": {"Location": {"schema": {"type": "string"}}}, **_JOB},
                "401": _UNAUTHENTICATED,
                "503": {"description": "The job could not be started (Retry-After)",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}},
        "get": {
            "operationId": "exportStatus", "tags": ["citizen"], "security": _COOKIE,
            "summary": "My latest export and its progress",
            "responses": {"200": {"description": "OK", **_JOB}, "401": _UNAUTHENTICATED}}},
    "/me/export/archive": {"get": {
        "operationId": "exportArchive", "tags": ["citizen"], "security": _COOKIE,
        "summary": "My ready archive (a zip), by a pre-signed link valid two minutes",
        "responses": {"303": {"description": "To the archive", "headers": {"Location": {"schema": {"type": "string"}}}},
                      "401": _UNAUTHENTICATED, "404": {"$ref": "#/components/responses/NotFound"}}}},
}

SCHEMAS = {
    "ExportJob": {"type": "object", "required": ["state"], "properties": {
        "state": {"enum": ["none", "queued", "running", "ready", "failed", "expired"]},
        "requested_at": {"type": "string", "format": "date-time"},
        "resources": {"type": "integer", "description": "Resources written into the archive so far"},
        "archive": {"type": "string", "description": "Where to fetch the archive, once ready"},
        "archive_bytes": {"type": "integer"},
        "ready_until": {"type": ["string", "null"], "format": "date-time"}}},
}

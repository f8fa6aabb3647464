"""OpenAPI 3.1 description of the citizen's side of their record (/me/access-log, /me/documents)."""
from __future__ import annotations

from typing import Dict, List

_COOKIE: List[Dict[str, List[str]]] = [{"session": []}]
_ERRORS = {"400": {"$ref": "#/components/responses/BadRequest"},
           "401": {"$ref": "#/components/responses/Unauthenticated"}}


def _ok(schema):
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


PATHS = {
    "/me/access-log": {"get": {
        "operationId": "myAccessLog", "tags": ["citizen"], "summary": "Who accessed my record, when",
        "security": _COOKIE,
        "parameters": [{"name": "app", "in": "query", "schema": {"type": "string"}},
                       {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                       {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
        "responses": {"200": _ok({"type": "object", "required": ["entries", "next"], "properties": {
            "entries": {"type": "array", "items": {"$ref": "#/components/schemas/AccessLogEntry"}},
            "next": {"type": ["string", "null"]}}}), **_ERRORS}}},
    "/me/documents": {"get": {
        "operationId": "myDocuments", "tags": ["citizen"], "summary": "My documents and their visibility",
        "security": _COOKIE,
        "responses": {"200": _ok({"type": "object", "required": ["documents"], "properties": {
            "documents": {"type": "array", "items": {"type": "object", "required": ["id", "hidden"]}}}}),
            "401": _ERRORS["401"]}}},
    "/me/documents/{document_id}/visibility": {"put": {
        "operationId": "setDocumentVisibility", "tags": ["citizen"],
        "summary": "Hide a document from every app, or from my legal representatives, or show it again",
        "security": _COOKIE,
        "parameters": [{"name": "document_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "minProperties": 1, "additionalProperties": False,
            "properties": {"hidden": {"type": "boolean"}, "hidden_from_representatives": {"type": "boolean"}}}}}},
        "responses": {"200": _ok({"type": "object", "required": ["id"]}), **_ERRORS,
                      "404": {"$ref": "#/components/responses/NotFound"}}}},
}

SCHEMAS = {
    "AccessLogEntry": {"type": "object",
                       "required": ["at", "app_id", "interaction", "resource_type", "count", "outcome"],
                       "properties": {
                           "at": {"type": "string"}, "app_id": {"type": "string"}, "app_name": {"type": "string"},
                           "interaction": {"enum": ["read", "search", "everything", "create", "update",
                                                    "delete", "transaction", "subscribe", "unsubscribe"]},
                           "resource_type": {"type": "string"}, "resource_id": {"type": ["string", "null"]},
                           "count": {"type": "integer"}, "outcome": {"enum": ["allowed", "refused"]},
                           "reason": {"type": ["string", "null"]},
                           "acted_by": {"type": "object", "description": "Who acted through the app for me, "
                                        "when not me: my legal representative, or a proxy I chose",
                                        "properties": {"name": {"type": ["string", "null"]},
                                                       "as": {"enum": ["representative", "proxy"]}}}}},
}

"""OpenAPI 3.1 description of the citizen's consent API."""
from __future__ import annotations

from typing import Dict, List

_COOKIE: List[Dict[str, List[str]]] = [{"session": []}]
_APP_ID = {"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"}}
_ERRORS = {"401": {"$ref": "#/components/responses/Unauthenticated"},
           "404": {"$ref": "#/components/responses/NotFound"}}


def _ok(schema):
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


PATHS = {
    "/me/consents": {"get": {
        "operationId": "myConsents", "tags": ["citizen"], "summary": "My consents, active and past",
        "security": _COOKIE, "responses": {"200": _ok({"type": "object", "properties": {
            "active": {"type": "array", "items": {"$ref": "#/components/schemas/ConsentView"}},
            "past": {"type": "array", "items": {"$ref": "#/components/schemas/ConsentView"}}}}),
            "401": _ERRORS["401"]}}},
    "/me/consents/{app_id}": {"delete": {
        "operationId": "revokeConsent", "tags": ["citizen"], "summary": "Withdraw a consent",
        "security": _COOKIE, "parameters": [_APP_ID],
        "responses": {"200": _ok({"$ref": "#/components/schemas/ConsentView"}), **_ERRORS}}},
    "/me/consents/{app_id}/receipt": {"get": {
        "operationId": "consentReceipt", "tags": ["citizen"], "summary": "Download a consent receipt",
        "security": _COOKIE, "parameters": [_APP_ID],
        "responses": {"200": _ok({"type": "object", "required": ["app", "granted", "from", "until"]}),
                      **_ERRORS}}},
}

SCHEMAS = {
    "ConsentView": {"type": "object", "required": ["app_id", "status", "scopes", "granted_at", "expires_at"],
                    "properties": {
                        "app_id": {"type": "string"}, "app_name": {"type": "string"},
                        "status": {"enum": ["active", "revoked", "expired"]},
                        "scopes": {"type": "array", "items": {"type": "string"}},
                        "context": {"type": "array", "items": {"type": "string"}},
                        "granted_at": {"type": "string"}, "expires_at": {"type": "string"},
                        "revoked_at": {"type": ["string", "null"]}, "receipt": {"type": "string"}}},
}

"""The OpenAPI 3.1 document of every JSON endpoint, assembled from each domain's description."""
from __future__ import annotations

import copy
import inspect
from types import ModuleType
from typing import Any, Dict, Iterable

from chalice import Blueprint, Chalice

from chalicelib.edge import Routes
from chalicelib.responses import json_response

_ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message", "details"], "properties": {
        "code": {"type": "string", "description": "Stable, machine-readable code."},
        "message": {"type": "string", "description": "What went wrong, for a person."},
        "details": {"type": "array", "items": {"type": "object"},
                    "description": "One entry per problem (parameter, JSON pointer, criterion...)."}}}},
}


_OWN_PATHS = {"/openapi.json": {"get": {
    "operationId": "getOpenApi", "tags": ["meta"], "summary": "This OpenAPI document",
    "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {
        "schema": {"type": "object"}}}}}}}}


def _error_response(description: str) -> Dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def build_document(app: Chalice, base_url: str, fragments: Iterable[ModuleType]) -> Dict[str, Any]:
    """Merge the domains' PATHS and SCHEMAS; each operation's description is its view's docstring."""
    document: Dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Mon espace santé: app store and consent broker", "version": "0.1.0",
                 "description": "JSON endpoints of the catalogue of referenced apps. Errors outside "
                                "/fhir and /oauth share one shape: {error: {code, message, details}}."},
        "servers": [{"url": base_url}],
        "paths": copy.deepcopy(_OWN_PATHS),
        "components": {
            "schemas": {"Error": _ERROR_SCHEMA},
            "responses": {
                "BadRequest": _error_response("Invalid parameter or body"),
                "NotFound": _error_response("No such resource"),
                "MethodNotAllowed": _error_response("Method not allowed on this path"),
                "InternalError": _error_response("Unexpected error, logged with its request id"),
                "Unauthenticated": _error_response("Missing, invalid or expired bearer token "
                                                   "(with WWW-Authenticate)"),
                "Forbidden": _error_response("Wrong role, or another organisation's app"),
                "Conflict": _error_response("The state machine forbids this transition now"),
                "PreconditionFailed": _error_response("If-Match missing or stale"),
                "PayloadTooLarge": _error_response("Body over 256 KB"),
                "UnsupportedMediaType": _error_response("Body is not application/json"),
                "ValidationFailed": _error_response("Invalid fields or failed pre-checks, all listed"),
            },
            "securitySchemes": {"session": {
                "type": "apiKey", "in": "cookie", "name": "mes_session",
                "description": "The citizen's session at the broker (set when signing in)."}, "bearer": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "OIDC token from a trusted issuer (ProConnect in production; "
                               "`make token` locally) with a role: publisher (with siret) or reviewer."}},
        },
    }
    for fragment in fragments:
        document["paths"].update(copy.deepcopy(fragment.PATHS))
        document["components"]["schemas"].update(copy.deepcopy(fragment.SCHEMAS))
        document["components"]["securitySchemes"].update(copy.deepcopy(getattr(fragment, "SECURITY_SCHEMES", {})))
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            operation = document["paths"].get(path, {}).get(method.lower())
            if operation is not None and "description" not in operation:
                operation["description"] = inspect.getdoc(entry.view_function) or ""
    return document


def create_blueprint(app: Chalice, base_url: str, fragments: Iterable[ModuleType]) -> Blueprint:
    blueprint = Blueprint(__name__)
    routes = Routes(blueprint)
    cache: Dict[str, Any] = {}
    fragments = list(fragments)

    @routes.route("/openapi.json", methods=["GET"], cors=True)
    def openapi_document():
        """This OpenAPI 3.1 document."""
        if "document" not in cache:  # built on first use: every route is registered by then
            cache["document"] = build_document(app, base_url, fragments)
        return json_response(cache["document"])

    return blueprint

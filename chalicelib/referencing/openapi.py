"""OpenAPI 3.1 description of the referencing endpoints (publishers and reviewers)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

_BEARER: List[Dict[str, List[str]]] = [{"bearer": []}]


def _ref(name: str) -> Dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Dict[str, Any], description: str = "OK", headers: Optional[Dict[str, Any]] = None
          ) -> Dict[str, Any]:
    response: Dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


_ETAG = {"ETag": {"description": "Version and revision; send it back in If-Match.", "schema": {"type": "string"}}}
_APP_ID = {"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"}}
_VERSION = {"name": "version", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_IF_MATCH = {"name": "If-Match", "in": "header", "schema": {"type": "string"},
             "description": "ETag of the version as last read."}


def _errors(*codes: int) -> Dict[str, Any]:
    names = {400: "BadRequest", 401: "Unauthenticated", 403: "Forbidden", 404: "NotFound",
             409: "Conflict", 412: "PreconditionFailed", 413: "PayloadTooLarge",
             415: "UnsupportedMediaType", 422: "ValidationFailed"}
    return {str(code): {"$ref": f"#/components/responses/{names[code]}"} for code in codes}


def _op(operation_id: str, summary: str, tag: str, responses: Dict[str, Any], parameters: Sequence[Any] = (),
        body: Optional[Dict[str, Any]] = None, errors: Sequence[int] = (401, 403, 404)) -> Dict[str, Any]:
    operation: Dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag],
                                 "security": _BEARER, "parameters": list(parameters),
                                 "responses": {**responses, **_errors(*errors)}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


_WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)
_LISTING = {"$ref": "#/components/schemas/ListingDocument"}

PATHS = {
    "/publisher/apps": {
        "post": _op("createApp", "Create an app with a first draft", "publisher",
                    {"201": _json(_ref("ListingVersion"), "Created", _ETAG)}, body=_LISTING,
                    errors=(400, 401, 403, 413, 415, 422)),
        "get": _op("listMyApps", "My organisation's apps", "publisher",
                   {"200": _json({"type": "object", "properties": {
                       "items": {"type": "array", "items": _ref("AppSummary")}}})}, errors=(401, 403)),
    },
    "/publisher/apps/{app_id}": {
        "get": _op("getMyApp", "An app with its versions and history", "publisher",
                   {"200": _json(_ref("AppDetail"))}, [_APP_ID]),
    },
    "/publisher/apps/{app_id}/versions": {
        "post": _op("startVersion", "Start a new version (update or renewal)", "publisher",
                    {"201": _json(_ref("ListingVersion"), "Created", _ETAG)}, [_APP_ID],
                    errors=_WRITE_ERRORS),
    },
    "/publisher/apps/{app_id}/versions/{version}": {
        "get": _op("getMyVersion", "A version of the listing", "publisher",
                   {"200": _json(_ref("ListingVersion"), headers=_ETAG)}, [_APP_ID, _VERSION]),
        "put": _op("updateVersion", "Replace a draft's document", "publisher",
                   {"200": _json(_ref("ListingVersion"), headers=_ETAG)}, [_APP_ID, _VERSION, _IF_MATCH],
                   body=_LISTING, errors=(*_WRITE_ERRORS, 412)),
    },
    "/publisher/apps/{app_id}/versions/{version}/precheck": {
        "post": _op("precheckVersion", "Run the pre-checks without submitting", "publisher",
                    {"200": _json(_ref("PrecheckReport"))}, [_APP_ID, _VERSION]),
    },
    "/publisher/apps/{app_id}/versions/{version}/submit": {
        "post": _op("submitVersion", "Submit a version to the commission", "publisher",
                    {"200": _json(_ref("ListingVersion"), headers=_ETAG)}, [_APP_ID, _VERSION, _IF_MATCH],
                    errors=(401, 403, 404, 409, 412, 422)),
    },
    "/publisher/apps/{app_id}/versions/{version}/withdraw": {
        "post": _op("withdrawSubmission", "Take a submission back", "publisher",
                    {"200": _json(_ref("ListingVersion"), headers=_ETAG)}, [_APP_ID, _VERSION],
                    errors=(401, 403, 404, 409)),
    },
    "/publisher/apps/{app_id}/client-secret": {
        "post": _op("issueClientSecret", "Issue a client secret (shown once)", "publisher",
                    {"201": _json({"type": "object", "required": ["client_id", "client_secret"], "properties": {
                        "client_id": {"type": "string"}, "client_secret": {"type": "string"},
                        "message": {"type": "string"}}}, "Created")}, [_APP_ID], errors=(401, 403, 404, 409)),
    },
    "/review/queue": {
        "get": _op("reviewQueue", "Versions awaiting a decision, oldest first", "review",
                   {"200": _json(_ref("ReviewQueue"))},
                   [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}}], errors=(400, 401, 403)),
    },
    "/review/apps/{app_id}/versions/{version}": {
        "get": _op("reviewVersion", "A version to review", "review",
                   {"200": _json(_ref("ListingVersion"))}, [_APP_ID, _VERSION]),
    },
    "/review/apps/{app_id}/versions/{version}/decision": {
        "post": _op("decide", "Record the commission's decision", "review",
                    {"200": _json(_ref("ListingVersion"))}, [_APP_ID, _VERSION], body=_ref("Decision"),
                    errors=_WRITE_ERRORS),
    },
    **{f"/review/apps/{{app_id}}/{action}": {
        "post": _op(f"{action}App", f"{action.capitalize()} an app, with a reason", "review",
                    {"200": _json(_ref("AppSummary"))}, [_APP_ID], body=_ref("Reason"), errors=_WRITE_ERRORS),
    } for action in ("suspend", "reinstate", "withdraw")},
}

_STATES = ["draft", "submitted", "changes_requested", "published", "rejected", "superseded"]
SCHEMAS = {
    "ListingDocument": {"type": "object", "description": "A listing: see GET /catalog/listing-schema "
                                                         "for the full JSON Schema (2020-12)."},
    "AppSummary": {"type": "object", "required": ["app_id", "status"], "properties": {
        "app_id": {"type": "string"}, "client_id": {"type": "string"}, "name": {"type": "string"},
        "status": {"enum": ["unlisted", "published", "suspended", "withdrawn", "lapsed"]},
        "live_version": {"type": ["integer", "null"]}, "latest_version": {"type": "integer"},
        "latest_state": {"enum": _STATES}, "referenced_until": {"type": ["string", "null"]},
        "updated_at": {"type": "string"}}},
    "HistoryEntry": {"type": "object", "required": ["at", "action", "actor"], "properties": {
        "at": {"type": "string", "format": "date-time"}, "action": {"type": "string"},
        "actor": {"type": "object"}, "version": {"type": "integer"}, "reason": {"type": "string"},
        "opinion": {"type": "string"}, "comment": {"type": "string"}}},
    "AppDetail": {"allOf": [_ref("AppSummary"), {"type": "object", "properties": {
        "versions": {"type": "array", "items": _ref("ListingVersion")},
        "history": {"type": "array", "items": _ref("HistoryEntry"),
                    "description": "The app's latest 100 history entries, oldest first."}}}]},
    "ListingVersion": {"type": "object", "required": ["app_id", "version", "state", "etag"], "properties": {
        "app_id": {"type": "string"}, "version": {"type": "integer"}, "state": {"enum": _STATES},
        "etag": {"type": "string"}, "submitted_at": {"type": ["string", "null"]},
        "updated_at": {"type": "string"}, "document": _LISTING,
        "prechecks": {"type": ["object", "null"]}, "decision": {"type": ["object", "null"]}}},
    "PrecheckFailure": {"type": "object", "required": ["pointer", "message"], "properties": {
        "pointer": {"type": "string", "description": "JSON pointer into the listing"},
        "criterion": {"type": ["string", "null"]}, "message": {"type": "string"}}},
    "PrecheckReport": {"type": "object", "required": ["passed", "failures"], "properties": {
        "passed": {"type": "boolean"}, "failures": {"type": "array", "items": _ref("PrecheckFailure")}}},
    "ReviewQueue": {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "app_id": {"type": "string"}, "version": {"type": "integer"}, "name": {"type": "string"},
            "publisher": {"type": "string"}, "submitted_at": {"type": "string"}}}},
        "next_cursor": {"type": ["string", "null"]}}},
    "Decision": {"type": "object", "required": ["opinion", "results", "approved_scopes"], "properties": {
        "opinion": {"enum": ["favourable", "favourable_with_reservations",
                             "favourable_with_suspensive_reservations", "unfavourable"]},
        "results": {"type": "object", "description": "Criterion id -> {result, note}.",
                    "additionalProperties": {"type": "object", "required": ["result"], "properties": {
                        "result": {"enum": ["pass", "fail", "not_applicable"]}, "note": {"type": "string"}}}},
        "approved_scopes": {"type": "array", "items": {"type": "string"}},
        "period_years": {"type": "integer", "minimum": 1, "maximum": 3,
                         "description": "Referencing period of a favourable decision; absent: 1 year for a first "
                                        "listing, 2 for a renewal"},
        "comment": {"type": "string"},
        "quota": {"type": "object", "required": ["rate", "burst"],
                  "description": "The app's quota on the FHIR API and on the token endpoint, each: requests a "
                                 "second sustained (rate) and at once (burst). Absent: unchanged, the default for "
                                 "a first listing.",
                  "properties": {"rate": {"type": "integer", "minimum": 1, "maximum": 10000},
                                 "burst": {"type": "integer", "minimum": 1, "maximum": 20000}}}}},
    "Reason": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "minLength": 3}}},
}

"""OpenAPI 3.1 description of the FHIR R4 API (/fhir). The CapabilityStatement at /fhir/metadata is
the FHIR-native description; this one lets OpenAPI tooling see the same endpoints."""
from __future__ import annotations

from typing import Dict, List

_SMART: List[Dict[str, List[str]]] = [{"smart": []}]
_TYPES = ["DocumentReference", "Observation", "Appointment", "Patient"]
_TYPE = {"name": "resource_type", "in": "path", "required": True, "schema": {"enum": _TYPES}}
# Read also serves the RelatedPerson the ID token's fhirUser names (someone acting for the patient:
# decision 0019), for that person's own tokens with the fhirUser scope.
_READ_TYPE = {**_TYPE, "schema": {"enum": [*_TYPES, "RelatedPerson"]}}
_ID = {"name": "resource_id", "in": "path", "required": True,
       "schema": {"type": "string", "pattern": "^[A-Za-z0-9.-]{1,64}$"}}
_IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "The version being replaced, as its ETag (W/\"3\"): 412 if it is stale."}
_PREFER = {"name": "Prefer", "in": "header", "required": False, "schema": {"type": "string"},
           "description": "`handling=lenient` ignores unknown search parameters instead of a 400."}


def _fhir(description, schema_ref="#/components/schemas/FhirResource"):
    return {"description": description, "content": {"application/fhir+json": {"schema": {"$ref": schema_ref}}}}


# On every answer to a call counted against the app's quota (docs/decisions/0013-per-app-quotas.md).
_RATE_LIMIT = {
    "RateLimit-Policy": {"schema": {"type": "string"},
                         "description": 'The app\'s budget per window, e.g. "fhir";q=600;w=10 (IETF draft).'},
    "RateLimit": {"schema": {"type": "string"},
                  "description": 'What is left of it and the seconds until the window ends: "fhir";r=597;t=6.'},
}


def _counted(description, schema_ref="#/components/schemas/FhirResource"):
    return {**_fhir(description, schema_ref), "headers": _RATE_LIMIT}


_OUTCOME = {status: _fhir(text, "#/components/schemas/OperationOutcome") for status, text in {
    "400": "Bad parameter", "401": "No, invalid, expired or revoked token; consent withdrawn; app suspended "
    "(WWW-Authenticate: Bearer error=\"invalid_token\")", "403": "The token's scopes do not allow this",
    "404": "No such resource for this patient", "412": "Stale If-Match", "413": "Body too large",
    "415": "Not application/fhir+json", "422": "Invalid resource: each issue names the element",
    "429": "The app is over its quota (Retry-After; RateLimit and RateLimit-Policy say where it stands)",
    "503": "The record store is busy or failing: nothing was written or read out (Retry-After)"}.items()}


def _errors(*statuses):
    """The given error answers, and 429 and 503, which any call with a token may meet."""
    return {status: _OUTCOME[status] for status in (*statuses, "429", "503")}


PATHS = {
    "/fhir/metadata": {"get": {
        "operationId": "fhirCapabilities", "tags": ["fhir"], "summary": "CapabilityStatement (FHIR R4)",
        "responses": {"200": _fhir("CapabilityStatement")}}},
    "/fhir/{resource_type}": {
        "get": {"operationId": "fhirSearch", "tags": ["fhir"], "summary": "Search (searchset Bundle)",
                "security": _SMART, "parameters": [_TYPE, _PREFER, *[
                    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                    for name in ("patient", "type", "code", "category", "date", "status", "_count", "_cursor")]],
                "responses": {"200": _counted("Bundle"), **_errors("400", "401", "403", "404")}},
        "post": {"operationId": "fhirCreate", "tags": ["fhir"], "summary": "Create",
                 "security": _SMART, "parameters": [_TYPE],
                 "requestBody": {"required": True, "content": {"application/fhir+json": {
                     "schema": {"$ref": "#/components/schemas/FhirResource"}}}},
                 "responses": {"201": _counted("Created (Location, ETag)"),
                               **_errors("400", "401", "403", "404", "413", "415", "422")}}},
    "/fhir/{resource_type}/{resource_id}": {
        "get": {"operationId": "fhirRead", "tags": ["fhir"], "summary": "Read", "security": _SMART,
                "parameters": [_READ_TYPE, _ID], "responses": {"200": _counted("The resource (ETag)"),
                                                          **_errors("401", "403", "404")}},
        "put": {"operationId": "fhirUpdate", "tags": ["fhir"], "summary": "Update (what this app wrote)",
                "security": _SMART, "parameters": [_TYPE, _ID, _IF_MATCH],
                "requestBody": {"required": True, "content": {"application/fhir+json": {
                    "schema": {"$ref": "#/components/schemas/FhirResource"}}}},
                "responses": {"200": _counted("The new version (ETag)"),
                              **_errors("400", "401", "403", "404", "412", "413", "415", "422")}},
        "delete": {"operationId": "fhirDelete", "tags": ["fhir"], "summary": "Delete (what this app wrote)",
                   "security": _SMART, "parameters": [_TYPE, _ID],
                   "responses": {"204": {"description": "Deleted", "headers": _RATE_LIMIT},
                                 **_errors("401", "403", "404")}}},
    "/fhir/{resource_type}/{resource_id}/{operation}": {"get": {
        "operationId": "fhirPatientEverything", "tags": ["fhir"],
        "summary": "Patient/{id}/$everything: all the token may see of its patient (searchset Bundle)",
        "security": _SMART, "parameters": [
            {"name": "resource_type", "in": "path", "required": True, "schema": {"const": "Patient"}},
            {**_ID, "description": "The token's `patient` (any other id: 404)."},
            {"name": "operation", "in": "path", "required": True, "schema": {"const": "$everything"}},
            _PREFER,
            {"name": "_since", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "Only what changed at or after this instant (meta.lastUpdated), e.g. "
                            "2026-11-20T09:00:00Z, or this day (2026-11-20)."},
            {"name": "_count", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "Entries per page: default 20, at most 100."},
            {"name": "_cursor", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "From the previous page's `next` link."}],
        "responses": {"200": _counted("searchset Bundle: the Patient, then DocumentReference, Observation, "
                                      "Appointment, as the token's scopes allow"),
                      **_errors("400", "401", "403", "404")}}},
    "/fhir": {"post": {
        "operationId": "fhirTransaction", "tags": ["fhir"], "summary": "Transaction Bundle of creations",
        "security": _SMART, "requestBody": {"required": True, "content": {"application/fhir+json": {
            "schema": {"$ref": "#/components/schemas/FhirResource"}}}},
        "responses": {"200": _counted("transaction-response Bundle"),
                      **_errors("400", "401", "403", "413", "415", "422")}}},
}

_SUBSCRIPTION_ID = {"name": "subscription_id", "in": "path", "required": True, "schema": {"type": "string"},
                    "description": "The Subscription's id, or `$status` for the status of all (`id`, `status`)."}
# Topic-based subscriptions (Subscriptions R5 Backport on R4; docs/decisions/0017-subscriptions.md).
PATHS.update({
    "/fhir/Basic": {"get": {
        "operationId": "fhirSubscriptionTopics", "tags": ["fhir"],
        "summary": "The subscription topics (SubscriptionTopic as R4 Basic): searchset Bundle, no token",
        "responses": {"200": _fhir("Bundle")}}},
    "/fhir/Basic/{topic_id}": {"get": {
        "operationId": "fhirSubscriptionTopic", "tags": ["fhir"], "summary": "One subscription topic",
        "parameters": [{"name": "topic_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _fhir("Basic"), "404": _OUTCOME["404"]}}},
    "/fhir/Subscription": {
        "post": {"operationId": "fhirSubscribe", "tags": ["fhir"],
                 "summary": "Subscribe to a topic (rest-hook, id-only); the answer shows the signing secret once",
                 "security": _SMART, "requestBody": {"required": True, "content": {"application/fhir+json": {
                     "schema": {"$ref": "#/components/schemas/FhirResource"}}}},
                 "responses": {"201": _counted("The Subscription (Location), with its secret in an extension"),
                               **_errors("400", "401", "403", "413", "415", "422")}},
        "get": {"operationId": "fhirSubscriptionSearch", "tags": ["fhir"],
                "summary": "The app's subscriptions for the token's patient (searchset Bundle)", "security": _SMART,
                "responses": {"200": _counted("Bundle"), **_errors("401")}}},
    "/fhir/Subscription/{subscription_id}": {
        "get": {"operationId": "fhirSubscriptionRead", "tags": ["fhir"],
                "summary": "A Subscription; or Subscription/$status (searchset of SubscriptionStatus)",
                "security": _SMART, "parameters": [
                    _SUBSCRIPTION_ID,
                    {"name": "id", "in": "query", "required": False, "schema": {"type": "string"}},
                    {"name": "status", "in": "query", "required": False, "schema": {"type": "string"}}],
                "responses": {"200": _counted("Subscription, or Bundle"), **_errors("401", "404")}},
        "delete": {"operationId": "fhirUnsubscribe", "tags": ["fhir"], "summary": "Delete a Subscription",
                   "security": _SMART, "parameters": [_SUBSCRIPTION_ID],
                   "responses": {"204": {"description": "Deleted", "headers": _RATE_LIMIT},
                                 **_errors("401", "404")}}},
    "/fhir/Subscription/{subscription_id}/{operation}": {"get": {
        "operationId": "fhirSubscriptionStatus", "tags": ["fhir"],
        "summary": "Subscription/{id}/$status: status, events numbered, last error (searchset Bundle)",
        "security": _SMART, "parameters": [
            _SUBSCRIPTION_ID, {"name": "operation", "in": "path", "required": True, "schema": {"const": "$status"}}],
        "responses": {"200": _counted("Bundle of SubscriptionStatus Parameters"), **_errors("401", "404")}}},
})

SCHEMAS = {
    "FhirResource": {"type": "object", "required": ["resourceType"],
                     "properties": {"resourceType": {"type": "string"}, "id": {"type": "string"}}},
    "OperationOutcome": {"type": "object", "required": ["resourceType", "issue"], "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {"type": "array", "items": {"type": "object", "required": ["severity", "code"], "properties": {
            "severity": {"type": "string"}, "code": {"type": "string"}, "diagnostics": {"type": "string"},
            "expression": {"type": "array", "items": {"type": "string"}}}}}}},
}

SECURITY_SCHEMES = {"smart": {
    "type": "oauth2", "description": "SMART App Launch: an access token from this broker's /oauth/token, "
                                     "for the citizen who consented.",
    "flows": {"authorizationCode": {"authorizationUrl": "/oauth/authorize", "tokenUrl": "/oauth/token",
                                    "scopes": {"patient/DocumentReference.rs": "Read documents",
                                               "patient/Observation.rs": "Read measures",
                                               "patient/Appointment.rs": "Read the agenda",
                                               "launch/patient": "Patient context"}}}}}

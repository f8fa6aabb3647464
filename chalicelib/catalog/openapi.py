"""OpenAPI 3.1 description of the catalogue endpoints (paths and schemas)."""
from __future__ import annotations

_localised = {"$ref": "#/components/schemas/Localised"}
_errors = {"304": {"description": "Not modified: the ETag sent in If-None-Match is still current "
                                   "(answers carry Cache-Control: public, max-age and a strong ETag)"},
           "400": {"$ref": "#/components/responses/BadRequest"},
           "405": {"$ref": "#/components/responses/MethodNotAllowed"},
           "500": {"$ref": "#/components/responses/InternalError"}}


def _ok(schema_name: str) -> dict:
    return {"description": "OK", "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


def _query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


PATHS = {
    "/catalog/apps": {"get": {
        "operationId": "listApps", "tags": ["catalogue"], "summary": "List published apps",
        "parameters": [
            _query("category", "A category id (see /catalog/referential).", {"type": "string"}),
            _query("min_ecoscore", "Lowest écoscore letter accepted.", {"enum": ["A", "B", "C", "D", "E"]}),
            _query("data", "A data kind the app may ask for, e.g. documents.read.", {"type": "string"}),
            _query("q", "Words to find in the name or short description (accents ignored).",
                   {"type": "string", "maxLength": 100}),
            _query("sort", "Order of the apps.", {"enum": ["name", "ecoscore"], "default": "name"}),
            _query("limit", "Apps per page.", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
            _query("cursor", "The next_cursor of the previous page, unchanged.", {"type": "string"}),
        ],
        "responses": {"200": _ok("CatalogPage"), **_errors},
    }},
    "/catalog/apps/{app_id}": {"get": {
        "operationId": "getApp", "tags": ["catalogue"], "summary": "Public listing of a published app",
        "parameters": [{"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _ok("PublicListing"), "404": {"$ref": "#/components/responses/NotFound"},
                      **_errors},
    }},
    "/catalog/referential": {"get": {
        "operationId": "getReferential", "tags": ["catalogue"],
        "summary": "Referencing criteria, categories, data kinds and the écoscore method",
        "responses": {"200": _ok("Referential"), **_errors},
    }},
    "/catalog/listing-schema": {"get": {
        "operationId": "getListingSchema", "tags": ["catalogue"],
        "summary": "JSON Schema of a listing document",
        "responses": {"200": {"description": "A JSON Schema (2020-12)", "content": {
            "application/json": {"schema": {"type": "object"}}}}, **_errors},
    }},
}

SCHEMAS = {
    "Localised": {"type": "object", "required": ["fr"], "description": "French first, English beside it.",
                  "properties": {"fr": {"type": "string"}, "en": {"type": "string"}}},
    "Labelled": {"type": "object", "required": ["id", "label"],
                 "properties": {"id": {"type": "string"}, "label": _localised}},
    "EcoscoreBadge": {"type": "object", "required": ["score", "letter"], "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 100},
        "letter": {"enum": ["A", "B", "C", "D", "E"]}}},
    "AppCard": {"type": "object", "required": ["app_id", "name", "short_description", "category", "ecoscore"],
                "properties": {
                    "app_id": {"type": "string"}, "name": {"type": "string"},
                    "short_description": _localised, "category": {"$ref": "#/components/schemas/Labelled"},
                    "publisher": {"type": "string"}, "logo_url": {"type": "string", "format": "uri"},
                    "ecoscore": {"$ref": "#/components/schemas/EcoscoreBadge"},
                    "data_kinds": {"type": "array", "items": {"type": "string"}},
                    "compliance": {"type": "object", "description": "Status per family (URB, INT, SEC, ETH).",
                                   "additionalProperties": {"enum": ["compliant", "compliant_with_reservations",
                                                                     "not_compliant"]}},
                    "referenced_until": {"type": "string", "format": "date-time"}}},
    "CatalogPage": {"type": "object", "required": ["items", "limit", "next_cursor", "next"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/AppCard"}},
        "limit": {"type": "integer"},
        "next_cursor": {"type": ["string", "null"]},
        "next": {"type": ["string", "null"], "description": "Relative URL of the next page, if any."}}},
    "Ecoscore": {"type": "object", "required": ["score", "letter", "metrics", "steps", "footprint"], "properties": {
        "method_version": {"type": "string"}, "device_class": {"type": "string"}, "device_label": _localised,
        "score": {"type": "number"}, "letter": {"enum": ["A", "B", "C", "D", "E"]},
        "metrics": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"enum": ["energy", "performance", "data"]}, "label": _localised, "unit": {"type": "string"},
            "total": {"type": "number"}, "per_step": {"type": "number"},
            "breakpoints": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
            "sub_score": {"type": "number"}, "weight": {"type": "number"}, "contribution": {"type": "number"}}}},
        "steps": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "duration_s": {"type": "number"}, "data_kb": {"type": "number"},
            "energy_mwh": {"type": "number"}, "co2e_g": {"type": "number"}}}},
        "footprint": {"type": "object", "properties": {
            "per_journey": {"type": "object", "properties": {
                "co2e_g": {"type": "number"}, "water_l": {"type": "number"}, "land_m2a": {"type": "number"}}},
            "co2e_g_by_source": {"type": "object", "additionalProperties": {"type": "number"}}}}}},
    "Compliance": {"type": "object", "required": ["track", "status", "families"], "properties": {
        "track": {"enum": ["simple", "data_exchange"]},
        "status": {"enum": ["compliant", "compliant_with_reservations", "not_compliant"]},
        "families": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "label": _localised, "status": {"type": "string"},
            "passed": {"type": "integer"}, "failed": {"type": "integer"}, "not_applicable": {"type": "integer"},
            "criteria": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "title": _localised, "mandatory": {"type": "boolean"},
                "result": {"enum": ["pass", "fail", "not_applicable", "not_assessed"]}}}}}}}}},
    "PublicListing": {"type": "object", "required": ["app_id", "name", "data_access", "compliance", "ecoscore",
                                                     "referencing"], "properties": {
        "app_id": {"type": "string"}, "version": {"type": "integer"}, "name": {"type": "string"},
        "short_description": _localised, "long_description": _localised,
        "category": {"$ref": "#/components/schemas/Labelled"},
        "platforms": {"type": "array", "items": {"enum": ["web", "ios", "android"]}},
        "publisher": {"type": "object", "properties": {"legal_name": {"type": "string"},
                                                       "siret": {"type": "string"}}},
        "urls": {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}},
        "logo_url": {"type": "string", "format": "uri"},
        "data_access": {"type": "array", "items": {"type": "object", "properties": {
            "scope": {"type": "string"}, "data_kind": {"type": "string"}, "label": _localised,
            "purpose": {"$ref": "#/components/schemas/Labelled"}, "justification": _localised}}},
        "offline_access": {"type": "boolean"},
        "third_parties": {"type": "array", "items": {"type": "object"}},
        "compliance": {"$ref": "#/components/schemas/Compliance"},
        "ecoscore": {"$ref": "#/components/schemas/Ecoscore"},
        "referencing": {"type": "object", "properties": {
            "status": {"type": "string"}, "opinion": {"type": "string"}, "period_years": {"type": "integer"},
            "from": {"type": "string", "format": "date-time"}, "until": {"type": "string", "format": "date-time"}}}}},
    "Referential": {"type": "object", "required": ["criteria", "families", "categories", "ecoscore_method"],
                    "properties": {"version": {"type": "string"},
                                   "criteria": {"type": "array", "items": {"type": "object"}},
                                   "families": {"type": "array", "items": {"type": "object"}},
                                   "categories": {"type": "array", "items": {"type": "object"}},
                                   "ecoscore_method": {"type": "object"}}},
}

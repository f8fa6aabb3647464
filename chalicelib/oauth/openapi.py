"""OpenAPI 3.1 description of the authorization server's endpoints."""
from __future__ import annotations

PATHS = {
    "/oauth/jwks": {"get": {
        "operationId": "getJwks", "tags": ["oauth"], "summary": "Public keys of the broker's tokens",
        "responses": {
            "200": {"description": "A JWK Set (RFC 7517)", "content": {"application/jwk-set+json": {
                "schema": {"$ref": "#/components/schemas/JwkSet"}}}},
            "503": {"description": "No signing key configured", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}}}},
}

SCHEMAS = {
    "JwkSet": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {
        "type": "object", "required": ["kty", "kid", "alg", "use"], "properties": {
            "kty": {"const": "EC"}, "crv": {"const": "P-256"}, "x": {"type": "string"}, "y": {"type": "string"},
            "kid": {"type": "string"}, "alg": {"const": "ES256"}, "use": {"const": "sig"}}}}}},
}

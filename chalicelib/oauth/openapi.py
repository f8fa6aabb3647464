"""OpenAPI 3.1 description of the authorization server's endpoints."""
from __future__ import annotations

_OAUTH_ERROR = {"description": "RFC 6749 error", "content": {"application/json": {"schema": {
    "type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "error_description": {"type": "string"}}}}}}
_FORM_BODY = {"required": True, "description": "In the body only, each parameter once (RFC 6749 sections 3.1, 3.2).",
              "content": {"application/x-www-form-urlencoded": {"schema": {
                  "type": "object", "required": ["grant_type"], "properties": {
                      "grant_type": {"enum": ["authorization_code", "refresh_token"]}, "code": {"type": "string"},
                      "redirect_uri": {"type": "string"}, "client_id": {"type": "string"},
                      "code_verifier": {"type": "string"}, "refresh_token": {"type": "string"},
                      "scope": {"type": "string",
                                "description": "refresh_token: a narrower scope (RFC 6749 section 6)"},
                      "client_assertion_type": {"type": "string"}, "client_assertion": {"type": "string"}}}}}}
_DISCOVERY = {"type": "object", "required": ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"],
              "properties": {"issuer": {"type": "string"}, "authorization_endpoint": {"type": "string"},
                             "token_endpoint": {"type": "string"}, "jwks_uri": {"type": "string"},
                             "capabilities": {"type": "array", "items": {"type": "string"}}}}

PATHS = {
    "/oauth/token": {"post": {
        "operationId": "token", "tags": ["oauth"], "summary": "Token endpoint (RFC 6749, PKCE RFC 7636)",
        "requestBody": _FORM_BODY,
        "responses": {"200": {"description": "Access token", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/TokenResponse"}}}},
            "400": _OAUTH_ERROR, "401": _OAUTH_ERROR,
            "413": {**_OAUTH_ERROR, "description": "invalid_request: the form is over 16 KB"},
            "415": _OAUTH_ERROR,
            "429": {**_OAUTH_ERROR, "description": "temporarily_unavailable: the app is over its quota on this "
                                                   "endpoint (Retry-After); the code or refresh token is not used "
                                                   "up"},
            "503": {**_OAUTH_ERROR, "description": "temporarily_unavailable: no signing key is configured, or "
                                                   "the store is busy (Retry-After); nothing was used up"}}}},
    "/oauth/revoke": {"post": {
        "operationId": "revoke", "tags": ["oauth"], "summary": "Token revocation (RFC 7009)",
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "required": ["token"], "properties": {
                "token": {"type": "string"}, "token_type_hint": {"type": "string"},
                "client_id": {"type": "string"}}}}}},
        "responses": {"200": {"description": "Revoked, with every token of its family (the authorization it "
                                             "came from and its refreshes), or unknown",
                              "content": {"application/json": {"schema": {"type": "object"}}}},
                      "400": {**_OAUTH_ERROR, "description": "RFC 6749 error (no token)"},
                      "401": _OAUTH_ERROR,
                      "503": {**_OAUTH_ERROR, "description": "temporarily_unavailable: nothing was revoked; "
                                                             "ask again after Retry-After"}}}},
    "/oauth/introspect": {"post": {
        "operationId": "introspect", "tags": ["oauth"], "summary": "Token introspection (RFC 7662)",
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "required": ["token"], "properties": {
                "token": {"type": "string"}, "token_type_hint": {"type": "string"},
                "client_id": {"type": "string"}}}}}},
        "responses": {"200": {"description": "Introspection", "content": {"application/json": {"schema": {
            "type": "object", "required": ["active"], "properties": {
                "active": {"type": "boolean"}, "scope": {"type": "string"}, "client_id": {"type": "string"},
                "exp": {"type": "integer"}, "iat": {"type": "integer"}, "sub": {"type": "string"},
                "patient": {"type": "string"}, "aud": {"type": "string"}, "iss": {"type": "string"}}}}}},
            "400": _OAUTH_ERROR, "401": _OAUTH_ERROR}}},
    "/fhir/.well-known/smart-configuration": {"get": {
        "operationId": "smartConfiguration", "tags": ["oauth"], "summary": "SMART App Launch configuration",
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": _DISCOVERY}}}}}},
    "/.well-known/openid-configuration": {"get": {
        "operationId": "openidConfiguration", "tags": ["oauth"], "summary": "OpenID Connect discovery",
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": _DISCOVERY}}}}}},
    "/.well-known/oauth-authorization-server": {"get": {
        "operationId": "authorizationServerMetadata", "tags": ["oauth"], "summary": "RFC 8414 metadata",
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": _DISCOVERY}}}}}},
    "/oauth/jwks": {"get": {
        "operationId": "getJwks", "tags": ["oauth"], "summary": "Public keys of the broker's tokens",
        "responses": {
            "200": {"description": "A JWK Set (RFC 7517)", "content": {"application/jwk-set+json": {
                "schema": {"$ref": "#/components/schemas/JwkSet"}}}},
            "503": {"description": "No signing key configured", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}}}},
}

SCHEMAS = {
    "TokenResponse": {"type": "object", "required": ["access_token", "token_type", "expires_in", "scope"],
                      "properties": {"access_token": {"type": "string", "description": "JWT (ES256), 10 minutes"},
                                     "token_type": {"const": "Bearer"}, "expires_in": {"type": "integer"},
                                     "scope": {"type": "string", "description": "what was granted"},
                                     "patient": {"type": "string", "description": "pairwise patient id"},
                                     "id_token": {"type": "string", "description": "with openid"},
                                     "refresh_token": {"type": "string",
                                                       "description": "with offline_access or online_access"},
                                     "access_grant_expiration": {"type": "integer",
                                                                 "description": "when the consent ends (epoch s)"}}},
    "JwkSet": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {
        "type": "object", "required": ["kty", "kid", "alg", "use"], "properties": {
            "kty": {"const": "EC"}, "crv": {"const": "P-256"}, "x": {"type": "string"}, "y": {"type": "string"},
            "kid": {"type": "string"}, "alg": {"const": "ES256"}, "use": {"const": "sig"}}}}}},
}

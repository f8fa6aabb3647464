"""What the authorization server says about itself (SMART App Launch 2.x, RFC 8414): only the
truth, so each capability is listed here when it is built."""
from __future__ import annotations

from typing import Any, Dict

from chalicelib.catalog.referential import Referential
from chalicelib.oauth.scopes import CONTEXT_SCOPES

CAPABILITIES = ["launch-standalone", "client-public", "client-confidential-symmetric",
                "context-standalone-patient", "permission-patient", "permission-v1", "permission-v2",
                "authorize-post", "permission-offline", "client-confidential-asymmetric",
                "sso-openid-connect", "permission-online"]


def authorization_server_metadata(issuer: str, referential: Referential) -> Dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/oauth/jwks",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "private_key_jwt"],
        "introspection_endpoint_auth_methods_supported": ["none", "client_secret_basic", "private_key_jwt"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,  # RFC 9207
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384", "RS256", "ES256"],
        "scopes_supported": sorted(CONTEXT_SCOPES) + sorted(referential.data_scopes),
        "ui_locales_supported": ["fr", "en"],
    }


def openid_configuration(issuer: str, referential: Referential) -> Dict[str, Any]:
    """OpenID Connect discovery: ID tokens name the citizen by a pairwise subject."""
    return {**authorization_server_metadata(issuer, referential),
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser"]}


def smart_configuration(issuer: str, referential: Referential) -> Dict[str, Any]:
    return {**authorization_server_metadata(issuer, referential), "capabilities": CAPABILITIES,
            "management_endpoint": f"{issuer}/account/consents"}

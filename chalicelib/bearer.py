"""Bearer tokens at the edge (RFC 6750): the one reader of `Authorization: Bearer`, and the one
writer of the `WWW-Authenticate` challenge, whose quoted values are always made safe."""
from __future__ import annotations

from typing import Dict, Optional

from chalicelib.errors import Unauthenticated, oauth_description


def challenge(realm: str, error: Optional[str] = None, description: Optional[str] = None,
              scope: Optional[str] = None) -> Dict[str, str]:
    """The `WWW-Authenticate` header of a refusal (RFC 6750 section 3). Every value is reduced to
    what a quoted string may hold, so that nothing from the request can break out of it."""
    parts = [f'realm="{realm}"']
    for name, value in (("error", error), ("error_description", description), ("scope", scope)):
        if value is not None:
            parts.append(f'{name}="{oauth_description(value)}"')
    return {"WWW-Authenticate": "Bearer " + ", ".join(parts)}


def bearer_token(authorization: Optional[str], realm: str) -> str:
    """The token of an `Authorization: Bearer <token>` header; 401 with a challenge otherwise
    (none at all: no error code, as RFC 6750 section 3.1 asks; malformed: invalid_request)."""
    if not authorization:
        raise Unauthenticated("A bearer token is required (Authorization: Bearer <token>).", headers=challenge(realm))
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Use 'Authorization: Bearer <token>'.",
                              headers=challenge(realm, "invalid_request", "malformed Authorization header"))
    return token.strip()

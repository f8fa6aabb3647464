"""HTTP routes of the authorization server (so far: its published keys)."""
from __future__ import annotations

from typing import Optional

from chalice import Blueprint

from chalicelib.edge import Routes
from chalicelib.errors import ServiceUnavailable
from chalicelib.oauth.keys import TokenKeys
from chalicelib.responses import json_response


def create_blueprint(keys: Optional[TokenKeys]) -> Blueprint:
    blueprint = Blueprint(__name__)
    routes = Routes(blueprint)

    @routes.route("/oauth/jwks", methods=["GET"], cors=True)
    def jwks():
        """The public keys that verify the broker's tokens: the current key, and previous keys until
        the tokens they signed have expired (RFC 7517)."""
        if keys is None:
            raise ServiceUnavailable("No signing key is configured (SIGNING_KEY_ID or SIGNING_KEY_FILE).")
        return json_response(keys.jwks(), headers={"Cache-Control": "public, max-age=300"},
                             content_type="application/jwk-set+json")

    return blueprint

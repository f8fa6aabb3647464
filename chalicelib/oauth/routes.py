"""HTTP routes of the authorization server: discovery, keys, authorization and token endpoints."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from chalice import Blueprint, Response

from chalicelib import web
from chalicelib.catalog.referential import Referential
from chalicelib.edge import Routes
from chalicelib.errors import ServiceUnavailable
from chalicelib.oauth.authorize import AuthorizeFlow
from chalicelib.oauth.discovery import authorization_server_metadata, openid_configuration, smart_configuration
from chalicelib.oauth.keys import JWKS_MAX_AGE, TokenKeys
from chalicelib.oauth.server import BrokerServer, ChaliceOAuth2Request
from chalicelib.responses import json_response

_FORM = ["application/x-www-form-urlencoded"]
_DISCOVERY_CACHE = {"Cache-Control": "public, max-age=300"}
# What the key ring's publish-ahead time is measured against (oauth/keys.py).
_JWKS_CACHE = {"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"}


def create_blueprint(keys: Optional[TokenKeys], server: Optional[BrokerServer], flow: Optional[AuthorizeFlow],
                     referential: Referential, issuer: str, secure_cookies: bool) -> Blueprint:
    blueprint = Blueprint(__name__)
    routes = Routes(blueprint)

    def ready() -> Tuple[TokenKeys, BrokerServer, AuthorizeFlow]:
        """The signing keys, the server and the flow; 503 where no signing key wrap is configured."""
        if keys is None or server is None or flow is None:
            raise ServiceUnavailable(
                "No signing key wrap is configured (SIGNING_WRAP_KEY_ID or SIGNING_WRAP_KEY_FILE).")
        return keys, server, flow

    @routes.route("/oauth/jwks", methods=["GET"], cors=True)
    def jwks():
        """The public keys that verify the broker's tokens (RFC 7517): the key that signs now, the
        next one ahead of its use, and previous keys until the tokens they signed have expired."""
        ring, _, _ = ready()
        return json_response(ring.jwks(), headers=_JWKS_CACHE, content_type="application/jwk-set+json")

    @routes.route("/fhir/.well-known/smart-configuration", methods=["GET"], cors=True)
    def smart_config():
        """SMART App Launch 2.x configuration: endpoints, scopes and capabilities."""
        return json_response(smart_configuration(issuer, referential), headers=_DISCOVERY_CACHE)

    @routes.route("/.well-known/oauth-authorization-server", methods=["GET"], cors=True)
    def oauth_metadata():
        """OAuth 2.0 authorization server metadata (RFC 8414)."""
        return json_response(authorization_server_metadata(issuer, referential), headers=_DISCOVERY_CACHE)

    @routes.route("/.well-known/openid-configuration", methods=["GET"], cors=True)
    def openid_metadata():
        """OpenID Connect discovery (ID tokens for `openid`, with `fhirUser`)."""
        return json_response(openid_configuration(issuer, referential), headers=_DISCOVERY_CACHE)

    def authorize() -> Response:
        _, _, authorize_flow = ready()
        request = routes.request
        outcome = authorize_flow.handle(request, web.cookie_value(request.headers.get("cookie")))
        headers = {}
        if outcome.session_id:
            headers["Set-Cookie"] = web.session_cookie(outcome.session_id, secure_cookies)
        if outcome.redirect:
            return Response(body="", status_code=302, headers={
                **headers, "Location": outcome.redirect, "Cache-Control": "no-store"})
        return web.page(outcome.template or "error.html", outcome.context, outcome.status, outcome.form_targets,
                        headers)

    @routes.route("/oauth/authorize", methods=["GET"])
    def authorize_get():
        """The authorization endpoint (SMART App Launch, OAuth 2 code flow with PKCE S256): signs
        the citizen in, shows the consent page, then redirects to the app with a one-time code."""
        return authorize()

    @routes.route("/oauth/authorize", methods=["POST"], content_types=_FORM)
    def authorize_post():
        """The same, with parameters in a form (authorize-post); also receives the sign-in and
        consent forms."""
        return authorize()

    def answer(respond: Callable[[BrokerServer, ChaliceOAuth2Request], Tuple[int, Any, Any]]) -> Response:
        """A token, revocation or introspection answer: parameters from the body only, each once."""
        _, broker, _ = ready()
        oauth_request = ChaliceOAuth2Request(routes.request, issuer, body_only=True)
        if oauth_request.repeated:
            error = InvalidRequestError(oauth_request.repeated_description())
            status, body, headers = broker.handle_error_response(oauth_request, error)
        else:
            status, body, headers = respond(broker, oauth_request)
        return json_response(body, status, {**dict(headers), "Cache-Control": "no-store", "Pragma": "no-cache"})

    @routes.route("/oauth/token", methods=["POST"], content_types=_FORM, cors=True)
    def token():
        """The token endpoint: exchanges a code and its PKCE verifier for an access token (JWT)."""
        return answer(lambda broker, oauth_request: broker.create_token_response(oauth_request))

    def endpoint(name: str) -> Response:
        return answer(lambda broker, oauth_request: broker.create_endpoint_response(name, oauth_request))

    @routes.route("/oauth/revoke", methods=["POST"], content_types=_FORM, cors=True)
    def revoke():
        """Token revocation (RFC 7009): a refresh token and its whole family. Unknown tokens: 200."""
        return endpoint("revocation")

    @routes.route("/oauth/introspect", methods=["POST"], content_types=_FORM, cors=True)
    def introspect():
        """Token introspection (RFC 7662) for the app that holds the token: `{"active": false}` for
        anything revoked, expired, unknown, or whose consent or app no longer allows it."""
        return endpoint("introspection")

    return blueprint

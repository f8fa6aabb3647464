"""HTML routes of the citizen's sign-in through the upstream OpenID Connect provider (FranceConnect)."""
from __future__ import annotations

from typing import Dict, Optional

from chalice import Blueprint, Response

from chalicelib import web
from chalicelib.web import i18n
from chalicelib.edge import Routes, query_values
from chalicelib.errors import DomainError
from chalicelib.identity.signin import UpstreamSignIn
from chalicelib.identity.upstream_config import UpstreamError
from chalicelib.observability import logger



def create_blueprint(sign_in: Optional[UpstreamSignIn], secure_cookies: bool) -> Blueprint:
    blueprint = Blueprint(__name__)

    def error_page(error: DomainError) -> Response:
        """Why the sign-in stopped, in French and English, with its code."""
        name = sign_in.name if sign_in else "FranceConnect"
        logger.info("citizen sign-in refused", extra={"reason": error.code, "detail": error.message})
        known = f"signin.error.{error.code}"
        message_key = known if known in i18n.messages() else "signin.error.upstream_error"
        return web.page("error.html", {"lang": "fr", "bilingual": True, "title_key": "error.request_title",
                                       "code": error.code, "detail": error.message, "message_key": message_key,
                                       "message_values": {"name": name}, "letters": []},
                        error.status, headers={name: value for name, value in error.headers.items()
                                               if name == "Retry-After"})

    routes = Routes(blueprint, error_page)

    def redirect(location: str, session_id: str) -> Response:
        return Response(body="", status_code=302, headers={
            "Location": location, "Set-Cookie": web.session_cookie(session_id, secure_cookies),
            "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    def configured() -> UpstreamSignIn:
        if sign_in is None:
            raise UpstreamError("not_configured", "Sign-in with the upstream provider is not configured here.", 404)
        return sign_in

    def params() -> Dict[str, str]:
        return query_values(routes.request)

    @routes.route("/signin/franceconnect", methods=["GET"])
    def start():
        """Starts the citizen's sign-in with the upstream OpenID Connect provider; `next` is the
        local path to return to afterwards."""
        cookie = web.cookie_value(routes.request.headers.get("cookie"))
        session_id, location = configured().start(cookie, params().get("next"))
        return redirect(location, session_id)

    @routes.route("/signin/franceconnect/callback", methods=["GET"])
    def callback():
        """Where the provider sends the citizen back: checks `state`, exchanges the code, verifies
        the ID token, signs the citizen in with a new session, and returns to `next`."""
        cookie = web.cookie_value(routes.request.headers.get("cookie"))
        session_id, location = configured().finish(cookie, params())
        return redirect(location, session_id)

    @routes.route("/signin/franceconnect/logged-out", methods=["GET"])
    def logged_out():
        """Where the provider sends the citizen back after signing them out there too: home."""
        return Response(body="", status_code=303, headers={"Location": "/", "Cache-Control": "no-store"})

    return blueprint

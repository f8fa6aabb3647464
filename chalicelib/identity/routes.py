"""HTML routes of the citizen's sign-in through the upstream OpenID Connect provider (FranceConnect)."""
from __future__ import annotations

from typing import Dict, Optional

from chalice import Blueprint, Response

from chalicelib import web
from chalicelib.edge import Routes, query_values
from chalicelib.identity.signin import UpstreamSignIn
from chalicelib.identity.upstream import UpstreamError
from chalicelib.observability import logger

_FRENCH = {
    "not_configured": "La connexion avec {name} n'est pas disponible sur ce site.",
    "invalid_next": "L'adresse de retour demandée n'est pas une page de ce site.",
    "invalid_state": "Cette connexion a expiré, a déjà servi, ou n'a pas été commencée depuis ce navigateur : "
                     "recommencez.",
    "access_denied": "La connexion avec {name} a été annulée.",
    "upstream_error": "{name} n'a pas pu vous connecter : recommencez.",
    "invalid_request": "La réponse de {name} est incomplète : recommencez.",
    "invalid_id_token": "La réponse de {name} n'a pas pu être vérifiée : vous n'êtes pas connecté(e).",
    "upstream_unavailable": "{name} ne répond pas pour le moment : réessayez plus tard.",
    "upstream_misconfigured": "{name} ne répond pas pour le moment : réessayez plus tard.",
}


def create_blueprint(sign_in: Optional[UpstreamSignIn], secure_cookies: bool) -> Blueprint:
    blueprint = Blueprint(__name__)
    routes = Routes(blueprint)

    def error_page(error: UpstreamError, session_id: Optional[str] = None) -> Response:
        name = sign_in.name if sign_in else "FranceConnect"
        logger.info("citizen sign-in refused", extra={"reason": error.code, "detail": error.message})
        headers = {"Set-Cookie": web.session_cookie(session_id, secure_cookies)} if session_id else {}
        message_fr = _FRENCH.get(error.code, _FRENCH["upstream_error"]).format(name=name)
        return web.page("error.html", {"lang": "fr", "error": error.code, "message_en": error.message,
                                       "message_fr": message_fr, "letters": []}, error.status, headers=headers)

    def redirect(location: str, session_id: str) -> Response:
        return Response(body="", status_code=302, headers={
            "Location": location, "Set-Cookie": web.session_cookie(session_id, secure_cookies),
            "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    def params() -> Dict[str, str]:
        return query_values(routes.request)

    @routes.route("/signin/franceconnect", methods=["GET"])
    def start():
        """Starts the citizen's sign-in with the upstream OpenID Connect provider; `next` is the
        local path to return to afterwards."""
        if sign_in is None:
            return error_page(UpstreamError("not_configured", "Sign-in with the upstream provider is not "
                                                              "configured here.", 404))
        cookie = web.cookie_value(routes.request.headers.get("cookie"))
        try:
            session_id, location = sign_in.start(cookie, params().get("next"))
        except UpstreamError as error:
            return error_page(error)
        return redirect(location, session_id)

    @routes.route("/signin/franceconnect/callback", methods=["GET"])
    def callback():
        """Where the provider sends the citizen back: checks `state`, exchanges the code, verifies
        the ID token, signs the citizen in with a new session, and returns to `next`."""
        if sign_in is None:
            return error_page(UpstreamError("not_configured", "Sign-in with the upstream provider is not "
                                                              "configured here.", 404))
        cookie = web.cookie_value(routes.request.headers.get("cookie"))
        try:
            session_id, location = sign_in.finish(cookie, params())
        except UpstreamError as error:
            return error_page(error)
        return redirect(location, session_id)

    @routes.route("/signin/franceconnect/logged-out", methods=["GET"])
    def logged_out():
        """Where the provider sends the citizen back after signing them out there too: home."""
        return Response(body="", status_code=303, headers={"Location": "/", "Cache-Control": "no-store"})

    return blueprint

"""The citizen's consent API (/me/...), for the signed-in citizen of the session cookie."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib import web
from chalicelib.ids import is_app_id
from chalicelib.consent.service import ConsentService
from chalicelib.edge import Routes
from chalicelib.errors import NotFound
from chalicelib.identity.citizens import CitizenSessions
from chalicelib.responses import json_response

_PRIVATE = {"Cache-Control": "no-store"}


def create_blueprint(consents: ConsentService, sessions: CitizenSessions) -> Blueprint:
    blueprint = Blueprint(__name__)
    routes = Routes(blueprint)

    def citizen() -> str:
        return sessions.citizen(web.cookie_value(routes.header("cookie")))

    def known(app_id: str) -> str:
        if not is_app_id(app_id):
            raise NotFound(f"No consent to '{app_id[:100]}'.")
        return app_id

    @routes.route("/me/consents", methods=["GET"])
    def my_consents():
        """The signed-in citizen's consents: active and past, with what each granted and until when."""
        return json_response(consents.list(citizen()), headers=_PRIVATE)

    @routes.route("/me/consents/{app_id}", methods=["DELETE"])
    def revoke_consent(app_id: str):
        """Withdraw a consent: the app's refresh tokens die at once and its access tokens are refused
        from their next use."""
        return json_response(consents.revoke(citizen(), known(app_id)), headers=_PRIVATE)

    @routes.route("/me/consents/{app_id}/receipt", methods=["GET"])
    def consent_receipt(app_id: str):
        """The consent receipt: what was granted, to whom, for which purpose, from when, until when."""
        return json_response(consents.receipt(citizen(), known(app_id)), headers={
            **_PRIVATE, "Content-Disposition": f'attachment; filename="consentement-{app_id}.json"'})

    return blueprint

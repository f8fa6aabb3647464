"""The citizen's export as JSON (/me/export): ask for it, follow it, fetch it. Thin: the rules are
in service.py; the account pages (/account/export) call the same service."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import web
from chalicelib.edge import Routes
from chalicelib.export.service import ExportService
from chalicelib.identity.citizens import CitizenSessions
from chalicelib.responses import json_response

_PRIVATE = {"Cache-Control": "no-store"}


def create_blueprint(exports: ExportService, sessions: CitizenSessions) -> Blueprint:
    blueprint = Blueprint(__name__)
    routes = Routes(blueprint)

    def citizen() -> str:
        return sessions.citizen(web.cookie_value(routes.header("cookie")))

    @routes.route("/me/export", methods=["POST"])
    def ask_export():
        """Start building the archive of my whole record (202), or return the export under way."""
        view = exports.request(citizen())
        return json_response(view, 202 if view["state"] in ("queued", "running") else 200,
                             headers={**_PRIVATE, "Location": "/me/export"})

    @routes.route("/me/export", methods=["GET"])
    def export_status():
        """My latest export: queued, running (with how many resources so far), ready, failed or expired."""
        return json_response(exports.status(citizen()), headers=_PRIVATE)

    @routes.route("/me/export/archive", methods=["GET"])
    def export_archive():
        """A redirect (303) to my ready archive, by a link valid two minutes."""
        return Response(body="", status_code=303, headers={**_PRIVATE, "Location": exports.archive_url(citizen())})

    return blueprint

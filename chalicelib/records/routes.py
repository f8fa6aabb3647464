"""The citizen's side of their record (/me/...): access history, documents and their visibility."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib import web
from chalicelib.edge import Routes
from chalicelib.errors import InvalidRequest
from chalicelib.identity.citizens import CitizenSessions
from chalicelib.records.audit import AccessLog
from chalicelib.records.service import RecordService
from chalicelib.responses import json_response

_PRIVATE = {"Cache-Control": "no-store"}


def create_blueprint(access_log: AccessLog, records: RecordService, sessions: CitizenSessions) -> Blueprint:
    blueprint = Blueprint(__name__)
    routes = Routes(blueprint)

    def citizen() -> str:
        return sessions.citizen(web.cookie_value(routes.header("cookie")))

    @routes.route("/me/access-log", methods=["GET"])
    def my_access_log():
        """Every access by an app to my record, allowed or refused, newest first; `app` keeps one
        app's accesses; `cursor` continues from the previous page's `next`."""
        params = routes.query({"app", "cursor", "limit"})
        try:
            limit = int(params.get("limit", "20"))
        except ValueError:
            raise InvalidRequest("'limit' must be a whole number.") from None
        return json_response(access_log.history(citizen(), params.get("app"), params.get("cursor"), limit),
                             headers=_PRIVATE)

    @routes.route("/me/documents", methods=["GET"])
    def my_documents():
        """My documents, newest first, and whether apps can see each one."""
        return json_response(records.documents(citizen()), headers=_PRIVATE)

    @routes.route("/me/documents/{document_id}/visibility", methods=["PUT"])
    def document_visibility(document_id: str):
        """Hide one of my documents from every app (`{"hidden": true}`), or show it again."""
        patient_id = citizen()
        return json_response(records.set_visibility(patient_id, document_id, routes.json_body()), headers=_PRIVATE)

    return blueprint

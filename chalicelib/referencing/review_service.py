"""The commission's side of referencing: the queue, decisions, suspension, reinstatement, withdrawal."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

import jsonschema

from chalicelib.catalog.compliance import track_of
from chalicelib.catalog.models import ListingVersion
from chalicelib.catalog.query import decode_cursor, encode_cursor
from chalicelib.catalog.referential import Referential
from chalicelib.catalog.service import CatalogService, ReviewOutcome
from chalicelib.errors import Conflict, InvalidRequest, ValidationFailed
from chalicelib.identity.service import Principal
from chalicelib.referencing import lifecycle
from chalicelib.referencing.diff import field_changes
from chalicelib.referencing.publisher_service import app_summary, version_view
from chalicelib.referencing.workflow import bump, change, commit, history_view, load_app, load_head
from chalicelib.clock import Clock

DECISION_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["opinion", "results", "approved_scopes"],
    "properties": {
        "opinion": {"enum": list(lifecycle.OPINIONS)},
        "results": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": False, "required": ["result"],
            "properties": {"result": {"enum": ["pass", "fail", "not_applicable"]},
                           "note": {"type": "string", "maxLength": 2000}}}},
        "approved_scopes": {"type": "array", "uniqueItems": True, "items": {"type": "string"}},
        "comment": {"type": "string", "maxLength": 5000},
        # The referencing period, in years, of a favourable decision; absent: the référentiel's rule
        # (1 year for a first listing, 2 for a renewal).
        "period_years": {"type": "integer", "minimum": 1, "maximum": 3},
        # The app's quota on the FHIR API and on the token endpoint (chalicelib/oauth/quotas.py);
        # absent: unchanged, the deployment's default for a first listing. At most the account's
        # API Gateway limit (10,000 requests a second) for one app.
        "quota": {"type": "object", "additionalProperties": False, "required": ["rate", "burst"],
                  "properties": {"rate": {"type": "integer", "minimum": 1, "maximum": 10_000},
                                 "burst": {"type": "integer", "minimum": 1, "maximum": 20_000}}},
    },
}
REASON_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["reason"],
                 "properties": {"reason": {"type": "string", "minLength": 3, "maxLength": 2000}}}
_QUEUE = "review-queue"


def validate_body(body: Any, schema: Mapping[str, Any]) -> None:
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    if errors:
        raise ValidationFailed("The request body is invalid.", [
            {"pointer": "/" + "/".join(str(p) for p in e.absolute_path), "message": e.message} for e in errors])


class ReviewService:
    def __init__(self, referential: Referential, catalog: CatalogService, clock: Clock) -> None:
        self.referential = referential
        self.catalog = catalog
        self.clock = clock

    def queue(self, limit: int = 50, cursor: Optional[str] = None) -> Dict[str, Any]:
        """Versions awaiting a decision, oldest submission first."""
        if not 1 <= limit <= 100:
            raise InvalidRequest("limit must be from 1 to 100.", [{"parameter": "limit"}])
        key_names = ("app_id", "version", "review_queue", "submitted_at")
        start = None
        if cursor:
            raw = decode_cursor(cursor, _QUEUE, key_names,
                                lambda key: key["review_queue"] == "submitted" and key["version"].isdigit())
            start = {name: ({"N": value} if name == "version" else {"S": value}) for name, value in raw.items()}
        results = ListingVersion.review_queue_index.query("submitted", limit=limit, page_size=limit,
                                                         last_evaluated_key=start)
        items = list(results)
        next_key = results.last_evaluated_key
        return {
            "items": [{"app_id": v.app_id, "version": v.version, "name": v.document.get("name"),
                       "publisher": (v.document.get("publisher") or {}).get("legal_name"),
                       "submitted_at": v.submitted_at} for v in items],
            "next_cursor": encode_cursor({name: str(next(iter(next_key[name].values()))) for name in key_names},
                                         _QUEUE) if next_key else None,
        }

    def get_version(self, app_id: str, number: int) -> Dict[str, Any]:
        app = load_app(app_id)
        version = app.version(number)
        return {"app": app_summary(app.head, self.clock), **version_view(version),
                "criteria": [c["id"] for c in self.referential.criteria_for(track_of(version.document))],
                "history": history_view(app_id)}

    def review_view(self, app_id: str, number: int) -> Dict[str, Any]:
        """A version as the commission's page shows it: the version (with its evidence files), the
        criteria that apply, and what changed since the last approved version (None if none)."""
        app = load_app(app_id)
        version = app.version(number)
        live = app.head.live_version
        changes = None
        if live is not None and int(live) != number:
            changes = field_changes(app.version(int(live)).document, version.document)
        return {"app": app_summary(app.head, self.clock), **version_view(version),
                "attachments": version.attachments or {}, "approved_version": live,
                "changes_since_approved": changes,
                "criteria": self.referential.criteria_for(track_of(version.document)),
                "history": history_view(app_id)}

    def app_view(self, app_id: str) -> Dict[str, Any]:
        """An app as the commission manages it: where it stands, its versions and history."""
        app = load_app(app_id)
        return {"app": app_summary(app.head, self.clock), "publisher_siret": app.head.publisher_siret,
                "versions": [version_view(v) for v in app.versions], "history": history_view(app_id)}

    def decide(self, principal: Principal, app_id: str, number: int, body: Any) -> Dict[str, Any]:
        """Record the commission's decision on a submitted version, and carry it out."""
        validate_body(body, DECISION_SCHEMA)
        app = load_app(app_id)
        version = app.version(number)
        action = lifecycle.OPINIONS[body["opinion"]]
        target = lifecycle.next_version_state(version.state, action)
        self._check_decision(version, body)
        now = self.clock()
        # The commission's choice, else 1 year for a first listing and 2 for a renewal.
        period_years = body.get("period_years") or (1 if app.head.referenced_from is None else 2)
        bump(version)
        version.state, version.review_queue = target, None
        version.decision = {"opinion": body["opinion"], "results": body["results"],
                            "approved_scopes": body["approved_scopes"], "comment": body.get("comment", ""),
                            "quota": body.get("quota"),
                            "period_years": period_years if action == "publish" else None,
                            "decided_at": now.isoformat(), "decided_by": principal.as_actor()}
        versions: List[ListingVersion] = [version]
        entries, stale = [], []
        if action == "publish":
            if app.head.status == lifecycle.WITHDRAWN:
                raise Conflict("This app was withdrawn; it cannot be published again.")
            if app.head.live_version is not None and app.head.live_version != number:
                previous = app.version(int(app.head.live_version))
                bump(previous).state = lifecycle.next_version_state(previous.state, "supersede")
                versions.append(previous)
            outcome = ReviewOutcome(opinion=body["opinion"], approved_scopes=body["approved_scopes"],
                                    results=body["results"], period_years=period_years, quota=body.get("quota"))
            publication = self.catalog.go_live(app.head, number, version.document, outcome, now)
            if app.head.status == lifecycle.SUSPENDED:  # stays suspended until reinstated
                stale = publication.stale + self.catalog.take_down(app.head, lifecycle.SUSPENDED)
            else:
                entries, stale = publication.entries, publication.stale
        app.head.latest_state = target
        commit(app.head, now, change(principal, "decision", version=number, opinion=body["opinion"], state=target,
                                     comment=body.get("comment", "")), versions, entries, stale)
        return {"app": app_summary(app.head, self.clock), **version_view(version)}

    def _check_decision(self, version: ListingVersion, body: Mapping[str, Any]) -> None:
        document = version.document
        applicable = self.referential.criteria_for(track_of(document))
        problems = [{"pointer": f"/results/{c['id']}", "message": "a result is required for every criterion"}
                    for c in applicable if c["id"] not in body["results"]]
        known = {c["id"] for c in applicable}
        problems += [{"pointer": f"/results/{cid}", "message": "not a criterion of this listing's track"}
                     for cid in body["results"] if cid not in known]
        requested = {item["scope"] for item in document["scopes"]}
        if document.get("offline_access"):
            requested.add("offline_access")
        problems += [{"pointer": "/approved_scopes", "message": f"'{scope}' was not requested"}
                     for scope in body["approved_scopes"] if scope not in requested]
        if lifecycle.OPINIONS[body["opinion"]] == "publish":
            failed = [c["id"] for c in applicable if c["mandatory"]
                      and body["results"].get(c["id"], {}).get("result") != "pass"]
            problems += [{"pointer": f"/results/{cid}", "message": "a favourable opinion needs every "
                          "mandatory criterion to pass"} for cid in failed]
        if problems:
            raise ValidationFailed("The decision is incomplete or inconsistent.", problems)

    def _change_status(self, principal: Principal, app_id: str, action: str, body: Any) -> Dict[str, Any]:
        validate_body(body, REASON_SCHEMA)
        head = load_head(app_id)
        target = lifecycle.next_app_status(head.status, action)
        now = self.clock()
        entries, stale = [], []
        if action == "reinstate":
            if head.lapsed(now):
                raise Conflict("The referencing period has ended; the app needs a renewal, not a reinstatement.")
            entries = self.catalog.bring_back(head)
        else:
            stale = self.catalog.take_down(head, target)
        if action == "suspend":
            head.token_epoch = head.epoch + 1  # its tokens stay dead after a reinstatement (AppHead.token_epoch)
        commit(head, now, change(principal, action, reason=body["reason"], status=target), (), entries, stale)
        return app_summary(head, self.clock)

    def suspend(self, principal: Principal, app_id: str, body: Any) -> Dict[str, Any]:
        """Out of the catalogue at once; new authorizations and tokens are refused."""
        return self._change_status(principal, app_id, "suspend", body)

    def reinstate(self, principal: Principal, app_id: str, body: Any) -> Dict[str, Any]:
        return self._change_status(principal, app_id, "reinstate", body)

    def withdraw(self, principal: Principal, app_id: str, body: Any) -> Dict[str, Any]:
        """Definitive: the app leaves the catalogue and cannot be published again."""
        return self._change_status(principal, app_id, "withdraw", body)

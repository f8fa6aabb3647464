"""The publisher's side of referencing: drafts, versions, pre-checks, submission, client secret."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any, Dict, List, Optional, Tuple

from chalicelib.catalog.models import AppHead, ListingVersion, hash_client_secret
from chalicelib.catalog.query import normalize_text
from chalicelib.catalog.referential import Referential
from chalicelib.errors import Conflict, Forbidden, ValidationFailed
from chalicelib.identity.service import Principal
from chalicelib.catalog.ecoscore import compute_ecoscore
from chalicelib.errors import DomainError
from chalicelib.referencing import lifecycle, prechecks
from chalicelib.referencing.diff import field_changes
from chalicelib.referencing.workflow import (AppRecord, bump, change, check_if_match, commit, etag_of,
                                             history_view, load_app, new_version)
from chalicelib.clock import Clock


def _new_app_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", normalize_text(name)).strip("-")[:40] or "app"
    return f"{slug}-{secrets.token_hex(3)}"


class PublisherService:
    def __init__(self, referential: Referential, clock: Clock) -> None:
        self.referential = referential
        self.clock = clock

    # -- reading ------------------------------------------------------------------------------

    def _own(self, principal: Principal, app_id: str) -> AppRecord:
        app = load_app(app_id)
        if app.head.publisher_siret != principal.organisation_siret:
            raise Forbidden(f"App '{app_id}' belongs to another organisation.")
        return app

    def list_apps(self, principal: Principal) -> List[Dict[str, Any]]:
        heads = AppHead.by_publisher.query(principal.organisation_siret)
        return [app_summary(head, self.clock) for head in heads]

    def get_app(self, principal: Principal, app_id: str) -> Dict[str, Any]:
        app = self._own(principal, app_id)
        return {**app_summary(app.head, self.clock),
                "versions": [version_summary(v) for v in app.versions],
                "history": history_view(app_id)}

    def get_version(self, principal: Principal, app_id: str, number: int) -> ListingVersion:
        return self._own(principal, app_id).version(number)

    def my_apps(self, principal: Principal) -> List[Dict[str, Any]]:
        """The organisation's apps as the portal lists them: where each stands, its referencing
        period, and what is expected of the publisher now (`expected`, one of EXPECTED)."""
        now = self.clock()
        apps = []
        for head in AppHead.by_publisher.query(principal.siret):
            summary = app_summary(head, self.clock)
            summary["referenced_from"] = head.referenced_from.isoformat() if head.referenced_from else None
            summary["expected"] = expected_of_publisher(summary, head.referenced_until is not None and
                                                        head.referenced_until - now <= RENEW_NOTICE)
            apps.append(summary)
        return apps

    def version_changes(self, principal: Principal, app_id: str, before: int, after: int) -> List[Dict[str, Any]]:
        """What changed, field by field, from one version of the app to another."""
        app = self._own(principal, app_id)
        return field_changes(app.version(before).document, app.version(after).document)

    def ecoscore_preview(self, document: Any) -> Dict[str, Any]:
        """The écoscore the measurements entered would give (score, letter, breakdown), or why
        there is none yet; nothing is stored."""
        report = document.get("ecoscore") if isinstance(document, dict) else None
        try:
            if not isinstance(report, dict) or not report.get("device_class"):
                raise ValueError("no device class")
            return {"report": compute_ecoscore(report, self.referential.ecoscore_method), "problems": []}
        except DomainError as error:
            return {"report": None, "problems": error.details or [{"message": error.message}]}
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return {"report": None, "problems": []}

    # -- drafting -----------------------------------------------------------------------------

    def _check_draft(self, principal: Principal, document: Any) -> None:
        failures = prechecks.schema_failures(document, self.referential, complete=False)
        if isinstance(document, dict):
            failures += prechecks.organisation_failures(document, principal.siret)
        if failures:
            raise ValidationFailed("The listing has invalid fields.", failures)

    def create_app(self, principal: Principal, document: Dict[str, Any]) -> Tuple[AppHead, ListingVersion]:
        """A new app with its first draft; the draft may be incomplete but what it says must be valid."""
        self._check_draft(principal, document)
        now = self.clock()
        app_id = _new_app_id(str(document.get("name") or "app"))
        head = AppHead.new(app_id, principal.siret, now)
        head.display_name = str(document.get("name") or "")
        version = new_version(app_id, 1, document, now)
        commit(head, now, change(principal, "created", version=1), [version], new_app=True)
        return head, version

    def start_version(self, principal: Principal, app_id: str,
                      document: Optional[Dict[str, Any]]) -> ListingVersion:
        """A new draft version (a renewal or an update of a published app), from a document or
        from a copy of the latest version. Only one version may be open at a time."""
        app = self._own(principal, app_id)
        if app.latest.state in lifecycle.OPEN:
            raise Conflict(f"Version {app.latest.version} is still {app.latest.state.replace('_', ' ')}; "
                           "finish or withdraw it first.")
        if app.head.status == lifecycle.WITHDRAWN:
            raise Conflict("This app was withdrawn from the catalogue; create a new app instead.")
        copied = document is None
        document = document if document is not None else dict(app.latest.document)
        self._check_draft(principal, document)
        now = self.clock()
        version = new_version(app_id, int(app.latest.version) + 1, document, now)
        if copied:  # the evidence files go with the copy of the listing they prove
            version.attachments = app.latest.attachments
        app.head.latest_version, app.head.latest_state = version.version, version.state
        commit(app.head, now, change(principal, "version_started", version=version.version), [version])
        return version

    def update_version(self, principal: Principal, app_id: str, number: int, document: Dict[str, Any],
                       if_match: Optional[str]) -> ListingVersion:
        app = self._own(principal, app_id)
        version = app.version(number)
        if version.state not in lifecycle.EDITABLE:
            raise Conflict(f"Version {number} is {version.state.replace('_', ' ')} and can no longer change.")
        check_if_match(version, if_match)
        self._check_draft(principal, document)
        now = self.clock()
        bump(version).document = document
        app.head.display_name = str(document.get("name") or app.head.display_name)
        commit(app.head, now, change(principal, "updated", version=number), [version])
        return version

    # -- submitting ---------------------------------------------------------------------------

    def precheck(self, principal: Principal, app_id: str, number: int) -> Dict[str, Any]:
        version = self._own(principal, app_id).version(number)
        failures = prechecks.run_prechecks(version.document, self.referential, self.clock().date(),
                                           principal.siret)
        return {"passed": not failures, "failures": failures}

    def submit(self, principal: Principal, app_id: str, number: int,
               if_match: Optional[str]) -> ListingVersion:
        """To the commission, if every pre-check passes; otherwise 422 with every failure, and
        nothing changes."""
        app = self._own(principal, app_id)
        version = app.version(number)
        target = lifecycle.next_version_state(version.state, "submit")
        if if_match is not None:
            check_if_match(version, if_match)
        failures = prechecks.run_prechecks(version.document, self.referential, self.clock().date(),
                                           principal.siret)
        if failures:
            raise ValidationFailed(f"The listing fails {len(failures)} pre-check(s); nothing was submitted.",
                                   failures)
        now = self.clock()
        bump(version)
        version.state, version.review_queue, version.submitted_at = target, "submitted", now.isoformat()
        version.prechecks = {"passed": True, "ran_at": now.isoformat(), "failures": []}
        app.head.latest_state = target
        commit(app.head, now, change(principal, "submitted", version=number), [version])
        return version

    def withdraw_submission(self, principal: Principal, app_id: str, number: int) -> ListingVersion:
        """Take a submitted version back from the queue, to edit it again."""
        app = self._own(principal, app_id)
        version = app.version(number)
        target = lifecycle.next_version_state(version.state, "withdraw_submission")
        now = self.clock()
        bump(version)
        version.state, version.review_queue, version.submitted_at = target, None, None
        app.head.latest_state = target
        commit(app.head, now, change(principal, "submission_withdrawn", version=number), [version])
        return version

    def rotate_client_secret(self, principal: Principal, app_id: str) -> Dict[str, Any]:
        """A new client secret for a confidential client, shown once here and stored hashed.
        The previous secret stops working at once."""
        app = self._own(principal, app_id)
        if app.head.status != lifecycle.LISTED or app.head.live_version is None:
            raise Conflict("A client secret is issued once the app is published.")
        live = app.version(int(app.head.live_version))
        if live.document["client"]["type"] != "confidential_secret":
            raise Conflict("This app's client does not authenticate with a secret.")
        secret = secrets.token_urlsafe(32)
        now = self.clock()
        app.head.client_secret_hash = hash_client_secret(secret)
        commit(app.head, now, change(principal, "client_secret_issued"))
        return {"client_id": app.head.client_id, "client_secret": secret,
                "message": "Store this secret now: it will not be shown again."}


RENEW_NOTICE = timedelta(days=90)  # a listing's renewal is asked for this long before its period ends
EXPECTED = ("complete_and_submit", "wait_for_decision", "make_changes", "start_new_version", "renew",
            "renew_soon", "contact_commission", "nothing")


def expected_of_publisher(summary: Dict[str, Any], period_ends_soon: bool) -> str:
    """What the publisher is expected to do now, from where the app and its latest version stand."""
    status, latest = summary["status"], summary["latest_state"]
    if status == lifecycle.WITHDRAWN:
        return "nothing"
    if status == lifecycle.SUSPENDED:
        return "contact_commission"
    if latest in (lifecycle.DRAFT,):
        return "complete_and_submit"
    if latest == lifecycle.SUBMITTED:
        return "wait_for_decision"
    if latest == lifecycle.CHANGES_REQUESTED:
        return "make_changes"
    if status == "lapsed":
        return "renew"
    if status == lifecycle.LISTED:
        return "renew_soon" if period_ends_soon else "nothing"
    return "start_new_version"  # rejected, never published


def app_summary(head: AppHead, clock: Clock) -> Dict[str, Any]:
    status = head.status
    if status == lifecycle.LISTED and head.lapsed(clock()):
        status = "lapsed"
    return {
        "app_id": head.app_id, "client_id": head.client_id, "name": head.display_name, "status": status,
        "live_version": head.live_version, "latest_version": head.latest_version,
        "latest_state": head.latest_state,
        "referenced_until": head.referenced_until.isoformat() if head.referenced_until else None,
        "updated_at": head.updated_at.isoformat(),
    }


def version_summary(version: ListingVersion) -> Dict[str, Any]:
    return {"app_id": version.app_id, "version": version.version, "state": version.state,
            "etag": etag_of(version),
            "submitted_at": version.submitted_at, "updated_at": version.updated_at.isoformat(),
            "decision": version.decision}


def version_view(version: ListingVersion) -> Dict[str, Any]:
    return {**version_summary(version), "document": version.document, "prechecks": version.prechecks}

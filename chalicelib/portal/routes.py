"""HTML routes of the referencing portal: sign-in (demo picker, ProConnect) and the publisher's
pages; the commission's pages are in review_routes.py. Thin: parse, call a referencing service,
render (docs/decisions/0016-portal-sign-in-and-roles.md)."""
from __future__ import annotations

import functools
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import urlencode

from chalice import Blueprint, Response

from chalicelib import web
from chalicelib.edge import Routes
from chalicelib.errors import DomainError, InvalidRequest, NotFound, PreconditionFailed, ValidationFailed
from chalicelib.identity.portal import DEMO_PICKER, DemoPeople, PortalSessions, ProConnectSignIn
from chalicelib.identity.signin import local_path
from chalicelib.identity.upstream_config import UpstreamError
from chalicelib.portal import listing_form, review_routes
from chalicelib.portal.pages import (MAX_LISTING_FORM_BYTES, Member, PortalPages, PortalVisitor, SignInFirst,
                                     portal_cookie)
from chalicelib.referencing.evidence import EvidenceService
from chalicelib.referencing.publisher_service import PublisherService
from chalicelib.referencing.review_service import ReviewService
from chalicelib.referencing.workflow import etag_of

_FORM = ["application/x-www-form-urlencoded"]


def _number(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 100000:
        raise NotFound(f"No version '{raw[:20]}'.")
    return int(raw)


def create_blueprint(sessions: PortalSessions, publishing: PublisherService, review: ReviewService,
                     evidence: EvidenceService, referential: Any, activity: Any, settings: Any,
                     proconnect: Optional[ProConnectSignIn] = None) -> Blueprint:
    blueprint = Blueprint(__name__)
    pages = PortalPages(blueprint, sessions, referential, secure_cookies=not settings.is_local,
                        demo=settings.demo_sign_in)
    demo = DemoPeople(settings.catalog_dir, settings.public_base_url) if settings.demo_sign_in else None
    html_route = Routes(blueprint, pages.error_page).route

    def route(path: str, **options: Any) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        def register(view: Callable[..., Response]) -> Callable[..., Response]:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Response:
                try:
                    return view(*args, **kwargs)
                except SignInFirst:
                    return pages.sign_in_first()
            return html_route(path, **options)(guarded)
        return register

    # -- signing in and out ------------------------------------------------------------------------

    @route("/portal", methods=["GET"])
    def portal_home():
        """The portal's entry: my apps for a publisher, the queue for a reviewer, else sign-in."""
        principal = pages.visitor().principal
        if principal is None:
            return pages.see_other("/portal/sign-in")
        return pages.see_other("/portal/review" if principal.role == "reviewer" else "/portal/apps")

    @route("/portal/sign-in", methods=["GET"])
    def sign_in_page():
        """ProConnect when configured; the demo picker of publishers and reviewers locally."""
        next_path = pages.query().get("next") or "/portal"
        if not web.is_local_path(next_path):
            next_path = "/portal"
        session_id, session = sessions.find_or_start(pages.cookie())
        visitor = PortalVisitor(session_id, session, sessions.principal_of(session))
        return pages.render("portal/sign_in.html", "/portal/sign-in", "sign-in", visitor, {
            "next": next_path, "proconnect": proconnect is not None,
            "people": demo.listed() if demo else None}, set_cookies=[portal_cookie(session_id, pages.secure_cookies)])

    @route("/portal/sign-in", methods=["POST"], content_types=_FORM)
    def sign_in():
        """Signs a demo publisher or reviewer in (a new portal session), then to `next`."""
        fields = pages.form()
        visitor = pages.visitor()
        pages.check_csrf(visitor, fields)
        principal = demo.principal((fields.get("person") or [""])[-1]) if demo else None
        if principal is None:
            raise InvalidRequest("Pick one of the fictional people.")
        session_id, _ = sessions.sign_in(visitor.session_id, principal, signed_in_by=DEMO_PICKER)
        next_path = (fields.get("next") or ["/portal"])[-1]
        return pages.see_other(next_path if web.is_local_path(next_path) and next_path.startswith("/portal")
                               else "/portal", portal_cookie(session_id, pages.secure_cookies))

    @route("/portal/sign-out", methods=["POST"], content_types=_FORM)
    def sign_out():
        """Ends the portal session (and ProConnect's, when it signed the person in)."""
        visitor = pages.visitor()
        pages.check_csrf(visitor, pages.form())
        logout = proconnect.sign_out(visitor.session_id) if proconnect else None
        if logout is None:
            sessions.end(visitor.session_id)
        return pages.see_other(logout or "/portal/sign-in", portal_cookie("", pages.secure_cookies, max_age=0))

    def configured() -> ProConnectSignIn:
        if proconnect is None:
            raise UpstreamError("not_configured", "Sign-in with ProConnect is not configured here.", 404)
        return proconnect

    @route("/portal/signin/proconnect", methods=["GET"])
    def proconnect_start():
        """Starts a publisher's or reviewer's sign-in with ProConnect; `next`: a portal path."""
        session_id, location = configured().start(pages.cookie(), local_path(pages.query().get("next") or "/portal"))
        return Response(body="", status_code=302, headers={
            "Location": location, "Set-Cookie": portal_cookie(session_id, pages.secure_cookies),
            "Cache-Control": "no-store"})

    @route("/portal/signin/proconnect/callback", methods=["GET"])
    def proconnect_callback():
        """ProConnect's answer: state, code, ID token and claims checked; the role decided."""
        session_id, location = configured().finish(pages.cookie(), pages.query())
        return pages.see_other(location, portal_cookie(session_id, pages.secure_cookies))

    @route("/portal/signin/proconnect/logged-out", methods=["GET"])
    def proconnect_logged_out():
        """Where ProConnect sends the browser back after signing out there too."""
        return pages.see_other("/portal/sign-in")

    # -- my apps -----------------------------------------------------------------------------------

    @route("/portal/apps", methods=["GET"])
    def my_apps():
        """The organisation's apps: status, versions, referencing period, what is expected now."""
        visitor = pages.signed_in("publisher")
        return pages.render("portal/my_apps.html", "/portal/apps", "apps", visitor,
                            {"apps": publishing.my_apps(visitor.principal)})

    def listing_page(visitor: Member, document: Dict[str, Any], *, app: Optional[Dict[str, Any]] = None,
                     version: Any = None, failures: Optional[List[Dict[str, Any]]] = None,
                     status: int = 200, notice: Optional[str] = None, alert: Optional[str] = None,
                     etag: Optional[str] = None) -> Response:
        values, rows = listing_form.form_from_document(document)
        shown, by_field = listing_form.problems(failures or [], document, referential)
        here = f"/portal/apps/{app['app_id']}/versions/{version.version}" if app else "/portal/new-app"
        return pages.render("portal/listing.html", here, "apps", visitor, {
            "app": app, "version": version, "values": values, "rows": rows, "failures": shown,
            "by_field": by_field, "notice": notice, "alert": alert, "action": here,
            "etag": etag or (etag_of(version) if version is not None else ""),
            "editable": version is None or version.state in ("draft", "changes_requested"),
            "preview": publishing.ecoscore_preview(document), "ref": referential,
            "form": listing_form, "attachments": (version.attachments or {}) if version is not None else {}},
            status=status)

    def posted_document() -> tuple:
        fields = pages.form(MAX_LISTING_FORM_BYTES)
        single = {name: values[-1] for name, values in fields.items()}
        return fields, single, listing_form.document_from_form(single, fields, referential)

    @route("/portal/new-app", methods=["GET"])
    def new_app_page():
        """An empty listing form for a new app (saved as a first draft)."""
        visitor = pages.signed_in("publisher")
        return listing_page(visitor, {"publisher": {"siret": visitor.principal.siret}})

    @route("/portal/new-app", methods=["POST"], content_types=_FORM)
    def new_app():
        """Saves a first draft (it may be incomplete); what is filled in must be valid."""
        visitor = pages.signed_in("publisher")
        fields, _, document = posted_document()
        pages.check_csrf(visitor, fields)
        try:
            head, _ = publishing.create_app(visitor.principal, document)
        except ValidationFailed as error:
            return listing_page(visitor, document, failures=error.details, status=422, alert="portal.form.invalid")
        return pages.see_other(f"/portal/apps/{head.app_id}/versions/1?saved=1")

    @route("/portal/apps/{app_id}", methods=["GET"])
    def app_page(app_id: str):
        """One app: its versions, what changed between two, its history and its credentials."""
        visitor = pages.signed_in("publisher")
        return pages.render("portal/app.html", f"/portal/apps/{app_id}", "apps", visitor,
                            {"app": publishing.get_app(visitor.principal, app_id), "secret": None})

    @route("/portal/apps/{app_id}/client-secret", methods=["POST"], content_types=_FORM)
    def client_secret(app_id: str):
        """A new client secret, shown once on this page (the previous one stops working)."""
        visitor = pages.signed_in("publisher")
        pages.check_csrf(visitor, pages.form())
        secret = publishing.rotate_client_secret(visitor.principal, app_id)
        return pages.render("portal/app.html", f"/portal/apps/{app_id}", "apps", visitor,
                            {"app": publishing.get_app(visitor.principal, app_id), "secret": secret})

    @route("/portal/apps/{app_id}/versions", methods=["POST"], content_types=_FORM)
    def start_version(app_id: str):
        """A new version (update or renewal), a copy of the latest, to edit."""
        visitor = pages.signed_in("publisher")
        pages.check_csrf(visitor, pages.form())
        version = publishing.start_version(visitor.principal, app_id, None)
        return pages.see_other(f"/portal/apps/{app_id}/versions/{version.version}")

    @route("/portal/apps/{app_id}/changes", methods=["GET"])
    def changes(app_id: str):
        """What changed, field by field, between two versions (`from`, `to`)."""
        visitor = pages.signed_in("publisher")
        params = pages.query()
        app = publishing.get_app(visitor.principal, app_id)
        numbers = [v["version"] for v in app["versions"]]
        before = _number(params.get("from") or str(min(numbers)))
        after = _number(params.get("to") or str(max(numbers)))
        return pages.render("portal/changes.html", f"/portal/apps/{app_id}/changes", "apps", visitor, {
            "app": app, "before": before, "after": after,
            "changes": publishing.version_changes(visitor.principal, app_id, before, after)})

    @route("/portal/apps/{app_id}/versions/{version}", methods=["GET"])
    def version_page(app_id: str, version: str):
        """A version's listing: the form while it is a draft, with every pre-check failure next to
        its field and the écoscore preview; read-only once submitted."""
        visitor = pages.signed_in("publisher")
        number = _number(version)
        app = publishing.get_app(visitor.principal, app_id)
        listed = publishing.get_version(visitor.principal, app_id, number)
        report = publishing.precheck(visitor.principal, app_id, number)
        notice = {"saved": "portal.form.saved", "submitted": "portal.form.submitted",
                  "attached": "portal.evidence.attached"}.get(next(iter(pages.query()), ""))
        return listing_page(visitor, listed.document, app=app, version=listed, failures=report["failures"],
                            notice=notice)

    @route("/portal/apps/{app_id}/versions/{version}", methods=["POST"], content_types=_FORM)
    def save_version(app_id: str, version: str):
        """Saves the draft (`action=save`), or saves and submits it (`action=submit`): refused,
        with every pre-check failure, until they all pass. The fields typed are never lost."""
        visitor = pages.signed_in("publisher")
        number = _number(version)
        fields, single, document = posted_document()
        pages.check_csrf(visitor, fields)
        app = publishing.get_app(visitor.principal, app_id)
        listed = publishing.get_version(visitor.principal, app_id, number)
        try:
            saved = publishing.update_version(visitor.principal, app_id, number, document, single.get("etag"))
        except ValidationFailed as error:
            return listing_page(visitor, document, app=app, version=listed, failures=error.details, status=422,
                                alert="portal.form.invalid", etag=single.get("etag"))
        except PreconditionFailed:
            return listing_page(visitor, document, app=app, version=listed, status=412,
                                alert="portal.form.stale", etag=single.get("etag"))
        if single.get("action") != "submit":
            return pages.see_other(f"/portal/apps/{app_id}/versions/{number}?saved=1")
        try:
            publishing.submit(visitor.principal, app_id, number, etag_of(saved))
        except ValidationFailed as error:
            return listing_page(visitor, document, app=app, version=saved, failures=error.details, status=422,
                                alert="portal.form.not_submitted")
        return pages.see_other(f"/portal/apps/{app_id}/versions/{number}?submitted=1")

    @route("/portal/apps/{app_id}/versions/{version}/withdraw", methods=["POST"], content_types=_FORM)
    def withdraw_submission(app_id: str, version: str):
        """Takes a submitted version back from the commission's queue, to edit it again."""
        visitor = pages.signed_in("publisher")
        pages.check_csrf(visitor, pages.form())
        publishing.withdraw_submission(visitor.principal, app_id, _number(version))
        return pages.see_other(f"/portal/apps/{app_id}/versions/{version}")

    # -- evidence files ------------------------------------------------------------------------------

    @route("/portal/apps/{app_id}/versions/{version}/evidence/{criterion}", methods=["GET"])
    def evidence_page(app_id: str, version: str, criterion: str):
        """The upload form of one file for a criterion: it posts straight to S3 (pre-signed)."""
        visitor = pages.signed_in("publisher")
        number = _number(version)
        here = f"/portal/apps/{app_id}/versions/{number}/evidence/{criterion}"
        upload = evidence.upload_form(visitor.principal, app_id, number, criterion,
                                      f"{settings.public_base_url}{here}/uploaded")
        return pages.render("portal/evidence.html", here, "apps", visitor, {
            "app_id": app_id, "number": number, "criterion": referential.criteria[criterion], "upload": upload,
            "problem": pages.query().get("problem")}, form_targets=[web.origin_of(upload["url"])])

    @route("/portal/apps/{app_id}/versions/{version}/evidence/{criterion}/uploaded", methods=["GET"])
    def evidence_uploaded(app_id: str, version: str, criterion: str):
        """Where S3 sends the browser after an upload: the file is checked (size, type), its hash
        recorded and attached to the criterion; or refused with a clear message."""
        visitor = pages.signed_in("publisher")
        number = _number(version)
        try:
            evidence.attach(visitor.principal, app_id, number, criterion, pages.query().get("key") or "")
        except DomainError as error:
            if error.status not in (404, 413, 415):
                raise
            problem = {413: "too_large", 415: "wrong_type"}.get(error.status, "missing")
            return pages.see_other(f"/portal/apps/{app_id}/versions/{number}/evidence/{criterion}?"
                                   + urlencode({"problem": problem}))
        return pages.see_other(f"/portal/apps/{app_id}/versions/{number}?attached=1#evidence-{criterion}")

    @route("/portal/apps/{app_id}/versions/{version}/files/{criterion}/{index}", methods=["GET"])
    def evidence_file(app_id: str, version: str, criterion: str, index: str):
        """To an evidence file of the organisation's app, by a link valid one minute."""
        visitor = pages.signed_in("publisher")
        return pages.see_other(evidence.link(visitor.principal, app_id, _number(version), criterion,
                                             int(index) if index.isdigit() else -1))

    review_routes.register(route, pages, review, evidence, referential, activity, _number)
    return blueprint

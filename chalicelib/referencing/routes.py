"""HTTP routes of the referencing workflow: /publisher/... for publishers, /review/... for reviewers."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.edge import Routes
from chalicelib.errors import NotFound
from chalicelib.identity.service import IdentityService
from chalicelib.referencing.publisher_service import PublisherService, version_view
from chalicelib.referencing.review_service import ReviewService
from chalicelib.referencing.workflow import etag_of
from chalicelib.responses import json_response

_PRIVATE = {"Cache-Control": "no-store"}


def _version_number(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise NotFound(f"No version '{raw}'.")
    return int(raw)


def create_blueprint(identity: IdentityService, publishing: PublisherService,
                     review: ReviewService) -> Blueprint:
    blueprint = Blueprint(__name__)
    routes = Routes(blueprint)

    def publisher():
        return identity.authenticate(routes.header("authorization"), "publisher")

    def reviewer():
        return identity.authenticate(routes.header("authorization"), "reviewer")

    def version_response(version):
        return json_response(version_view(version), 200, {**_PRIVATE, "ETag": etag_of(version)})

    @routes.route("/publisher/apps", methods=["POST"])
    def create_app():
        """Create an app with a first draft of its listing. The draft may be incomplete; fields it
        has must be valid (422 names each with its JSON pointer). Returns the draft and its ETag."""
        principal = publisher()
        head, version = publishing.create_app(principal, routes.json_body())
        return json_response(version_view(version), 201, {
            **_PRIVATE, "ETag": etag_of(version), "Location": f"/publisher/apps/{head.app_id}/versions/1"})

    @routes.route("/publisher/apps", methods=["GET"])
    def list_my_apps():
        """The apps of the caller's organisation, with where each stands."""
        return json_response({"items": publishing.list_apps(publisher())}, headers=_PRIVATE)

    @routes.route("/publisher/apps/{app_id}", methods=["GET"])
    def get_my_app(app_id: str):
        """One of the organisation's apps: status, versions with their review decisions and feedback,
        and the history of every change (who, when, what, why)."""
        return json_response(publishing.get_app(publisher(), app_id), headers=_PRIVATE)

    @routes.route("/publisher/apps/{app_id}/versions", methods=["POST"])
    def start_version(app_id: str):
        """Start a new version (update or renewal) while the published one stays live. With no body,
        the new draft copies the latest version."""
        principal = publisher()
        document = routes.json_body() if routes.request.raw_body else None
        version = publishing.start_version(principal, app_id, document)
        return json_response(version_view(version), 201, {
            **_PRIVATE, "ETag": etag_of(version),
            "Location": f"/publisher/apps/{app_id}/versions/{version.version}"})

    @routes.route("/publisher/apps/{app_id}/versions/{version}", methods=["GET"])
    def get_my_version(app_id: str, version: str):
        """A version's listing document, state, pre-check report and decision; ETag for updates."""
        return version_response(publishing.get_version(publisher(), app_id, _version_number(version)))

    @routes.route("/publisher/apps/{app_id}/versions/{version}", methods=["PUT"])
    def update_version(app_id: str, version: str):
        """Replace the document of a draft (or of a version with changes requested). Requires
        If-Match with the ETag last read: 412 if someone changed it since."""
        principal = publisher()
        document = routes.json_body()
        updated = publishing.update_version(principal, app_id, _version_number(version), document,
                                            routes.header("if-match"))
        return version_response(updated)

    @routes.route("/publisher/apps/{app_id}/versions/{version}/precheck", methods=["POST"])
    def precheck_version(app_id: str, version: str):
        """Run the automated pre-checks without submitting: every failure with its criterion."""
        return json_response(publishing.precheck(publisher(), app_id, _version_number(version)),
                             headers=_PRIVATE)

    @routes.route("/publisher/apps/{app_id}/versions/{version}/submit", methods=["POST"])
    def submit_version(app_id: str, version: str):
        """Submit to the commission. Any pre-check failure: 422 listing them all, nothing changes."""
        return version_response(publishing.submit(publisher(), app_id, _version_number(version),
                                                  routes.header("if-match")))

    @routes.route("/publisher/apps/{app_id}/versions/{version}/withdraw", methods=["POST"])
    def withdraw_submission(app_id: str, version: str):
        """Take a submitted version back from the review queue, to edit it again."""
        return version_response(publishing.withdraw_submission(publisher(), app_id,
                                                               _version_number(version)))

    @routes.route("/publisher/apps/{app_id}/client-secret", methods=["POST"])
    def issue_client_secret(app_id: str):
        """Issue a new client secret for a published confidential client. Shown once; stored hashed;
        the previous one stops working."""
        return json_response(publishing.rotate_client_secret(publisher(), app_id), 201, _PRIVATE)

    @routes.route("/review/queue", methods=["GET"])
    def review_queue():
        """Submitted versions awaiting a decision, oldest first (`limit`, `cursor`)."""
        reviewer()
        params = routes.query(("limit", "cursor"))
        limit = params.get("limit", "50")
        return json_response(review.queue(int(limit) if limit.isdigit() else 0, params.get("cursor")),
                             headers=_PRIVATE)

    @routes.route("/review/apps/{app_id}/versions/{version}", methods=["GET"])
    def review_version(app_id: str, version: str):
        """A version to review: document, pre-check report, applicable criteria, app history."""
        reviewer()
        return json_response(review.get_version(app_id, _version_number(version)), headers=_PRIVATE)

    @routes.route("/review/apps/{app_id}/versions/{version}/decision", methods=["POST"])
    def decide(app_id: str, version: str):
        """Record the decision: a result per criterion, an opinion, the approved scopes. Favourable
        publishes (1 year for a first listing, 2 for a renewal); suspensive reservations request
        changes; unfavourable rejects."""
        principal = reviewer()
        return json_response(review.decide(principal, app_id, _version_number(version), routes.json_body()),
                             headers=_PRIVATE)

    @routes.route("/review/apps/{app_id}/suspend", methods=["POST"])
    def suspend(app_id: str):
        """Suspend a published app, with a reason: it leaves the catalogue at once."""
        principal = reviewer()
        return json_response(review.suspend(principal, app_id, routes.json_body()), headers=_PRIVATE)

    @routes.route("/review/apps/{app_id}/reinstate", methods=["POST"])
    def reinstate(app_id: str):
        """Reinstate a suspended app, with a reason, if its referencing period has not ended."""
        principal = reviewer()
        return json_response(review.reinstate(principal, app_id, routes.json_body()), headers=_PRIVATE)

    @routes.route("/review/apps/{app_id}/withdraw", methods=["POST"])
    def withdraw(app_id: str):
        """Withdraw an app from the catalogue for good, with a reason."""
        principal = reviewer()
        return json_response(review.withdraw(principal, app_id, routes.json_body()), headers=_PRIVATE)

    return blueprint

"""HTML routes of the referencing commission in the portal: the queue, a version with its
evidence and the decision form, published apps (suspend, reinstate, withdraw, each confirmed
with a reason), and the activity of the referenced apps. Registered by routes.py."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Callable, Dict, List, Optional

from chalicelib.catalog.query import CatalogQuery
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.portal.pages import PortalPages
from chalicelib.referencing.activity import ActivityReport
from chalicelib.referencing.evidence import EvidenceService
from chalicelib.referencing.review_service import ReviewService

ACTIONS = ("suspend", "reinstate", "withdraw")
RESULTS = ("pass", "fail", "not_applicable")


def business_days(since: Optional[str], today: date) -> int:
    """Working days (Monday to Friday) from a submission to today; public holidays are not known."""
    if not since:
        return 0
    day, count = datetime.fromisoformat(since).date(), 0
    while day < today:
        day += timedelta(days=1)
        count += day.weekday() < 5 and day <= today
    return count


def decision_from_form(fields: Dict[str, List[str]], criteria: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The decision the form describes, as the JSON API takes it; the service checks it."""
    one = {name: values[-1] for name, values in fields.items()}
    results = {}
    for criterion in criteria:
        result = one.get(f"result.{criterion['id']}", "")
        if result:
            results[criterion["id"]] = {"result": result, **({"note": one[f"note.{criterion['id']}"].strip()}
                                                            if one.get(f"note.{criterion['id']}", "").strip() else {})}
    body: Dict[str, Any] = {"opinion": one.get("opinion", ""), "results": results,
                            "approved_scopes": [s for s in fields.get("approved_scopes", []) if s],
                            "comment": one.get("comment", "").strip()}
    period = one.get("period_years", "").strip()
    if period:
        body["period_years"] = int(period) if period.isdigit() else period
    rate, burst = one.get("quota.rate", "").strip(), one.get("quota.burst", "").strip()
    if rate or burst:
        body["quota"] = {"rate": int(rate) if rate.isdigit() else rate,
                         "burst": int(burst) if burst.isdigit() else burst}
    return body


def register(route: Callable[..., Any], pages: PortalPages, review: ReviewService, evidence: EvidenceService,
             referential: Any, activity: ActivityReport, number_of: Callable[[str], int]) -> None:
    form = ["application/x-www-form-urlencoded"]

    @route("/portal/review", methods=["GET"])
    def queue_page():
        """Versions awaiting a decision, oldest first, with their age in business days."""
        visitor = pages.signed_in("reviewer")
        queue = review.queue(100, pages.query().get("cursor"))
        today = review.clock().date()
        items = [{**item, "age": business_days(item["submitted_at"], today)} for item in queue["items"]]
        return pages.render("portal/queue.html", "/portal/review", "queue", visitor,
                            {"items": items, "next_cursor": queue["next_cursor"]})

    def version_page(visitor: Any, app_id: str, number: int, decision: Optional[Dict[str, Any]] = None,
                     failures: Optional[List[Dict[str, Any]]] = None, status: int = 200):
        view = review.review_view(app_id, number)
        document = view["document"]
        asked = [item.get("scope") for item in document.get("scopes") or []] + \
            (["offline_access"] if document.get("offline_access") else [])
        return pages.render("portal/review_version.html", f"/portal/review/apps/{app_id}/versions/{number}",
                            "queue", visitor, {"view": view, "document": document, "asked": asked,
                                               "decision": decision, "failures": failures or [],
                                               "ref": referential, "results": RESULTS}, status=status)

    @route("/portal/review/apps/{app_id}/versions/{version}", methods=["GET"])
    def review_version_page(app_id: str, version: str):
        """A version to decide on: every criterion with its evidence side by side, the changes
        since the last approved version, and the decision form."""
        return version_page(pages.signed_in("reviewer"), app_id, number_of(version))

    @route("/portal/review/apps/{app_id}/versions/{version}", methods=["POST"], content_types=form)
    def decide(app_id: str, version: str):
        """Records the decision (per-criterion results, opinion, approved scopes, comment)."""
        visitor = pages.signed_in("reviewer")
        fields = pages.form(64 * 1024)
        pages.check_csrf(visitor, fields)
        number = number_of(version)
        view = review.review_view(app_id, number)
        body = decision_from_form(fields, view["criteria"])
        try:
            review.decide(visitor.principal, app_id, number, body)
        except ValidationFailed as error:
            return version_page(visitor, app_id, number, decision=body, failures=error.details, status=422)
        return pages.see_other(f"/portal/review/apps/{app_id}?decided={number}")

    @route("/portal/review/files/{app_id}/{version}/{criterion}/{index}", methods=["GET"])
    def review_file(app_id: str, version: str, criterion: str, index: str):
        """To an evidence file, by a link valid one minute."""
        visitor = pages.signed_in("reviewer")
        return pages.see_other(evidence.link(visitor.principal, app_id, number_of(version), criterion,
                                             int(index) if index.isdigit() else -1))

    @route("/portal/review/apps", methods=["GET"])
    def published_apps():
        """The apps in the catalogue (a page at a time), and any app found by its id."""
        visitor = pages.signed_in("reviewer")
        found = pages.query().get("app_id", "").strip()
        if found:
            return pages.see_other(f"/portal/review/apps/{found}")
        page = review.catalog.list_apps(CatalogQuery(limit=100, cursor=pages.query().get("cursor")))
        return pages.render("portal/apps.html", "/portal/review/apps", "apps", visitor,
                            {"page": page})

    @route("/portal/review/apps/{app_id}", methods=["GET"])
    def review_app_page(app_id: str):
        """An app as the commission manages it: status, versions, history, and its actions."""
        visitor = pages.signed_in("reviewer")
        return pages.render("portal/review_app.html", f"/portal/review/apps/{app_id}", "apps", visitor,
                            {"view": review.app_view(app_id), "actions": ACTIONS,
                             "done": pages.query().get("done"), "decided": pages.query().get("decided")})

    def action_of(raw: str) -> str:
        if raw not in ACTIONS:
            raise NotFound(f"No action '{raw[:20]}'.")
        return raw

    @route("/portal/review/apps/{app_id}/{action}", methods=["GET"])
    def confirm_page(app_id: str, action: str):
        """The confirmation of a suspension, reinstatement or withdrawal, saying what it does."""
        visitor = pages.signed_in("reviewer")
        return pages.render("portal/confirm.html", f"/portal/review/apps/{app_id}/{action}", "apps", visitor,
                            {"view": review.app_view(app_id), "action": action_of(action), "reason": "",
                             "problem": False})

    @route("/portal/review/apps/{app_id}/{action}", methods=["POST"], content_types=form)
    def change_status(app_id: str, action: str):
        """Suspends, reinstates or withdraws the app, with the reason given (required)."""
        visitor = pages.signed_in("reviewer")
        fields = pages.form()
        pages.check_csrf(visitor, fields)
        action = action_of(action)
        reason = (fields.get("reason") or [""])[-1].strip()
        try:
            getattr(review, action)(visitor.principal, app_id, {"reason": reason})
        except ValidationFailed:
            return pages.render("portal/confirm.html", f"/portal/review/apps/{app_id}/{action}", "apps", visitor,
                                {"view": review.app_view(app_id), "action": action, "reason": reason,
                                 "problem": True}, status=422)
        return pages.see_other(f"/portal/review/apps/{app_id}?done={action}")

    @route("/portal/review/activity", methods=["GET"])
    def activity_page():
        """Per referenced app: active consents and FHIR calls in the last 30 days (counts only)."""
        visitor = pages.signed_in("reviewer")
        page = review.catalog.list_apps(CatalogQuery(limit=100, cursor=pages.query().get("cursor")))
        apps = [{"app_id": card["app_id"], "name": card["name"]} for card in page.items]
        return pages.render("portal/activity.html", "/portal/review/activity", "activity", visitor,
                            {"rows": activity.of_apps(apps), "next_cursor": page.next_cursor})

"""HTTP routes of the citizen's web pages (HTML): parse the request, call the pages' services, render.

Longer than 300 lines: every citizen page is a route of one blueprint whose closures (language,
cookies, the visitor, rendering, the error page) they all share; each route is a few lines."""
from __future__ import annotations

from typing import Any, Dict, List, Optional
from urllib.parse import quote, urlencode

from chalice import Blueprint, Response

from chalicelib import web
from chalicelib.ids import is_app_id
from chalicelib.catalog.service import CatalogService
from chalicelib.config import Settings
from chalicelib.consent.proxies import NotInvited, ProxyService
from chalicelib.consent.service import ConsentService
from chalicelib.edge import Routes, query_values, read_form
from chalicelib.errors import Conflict, DomainError, Gone, InvalidRequest, NotFound
from chalicelib.export.service import ExportService
from chalicelib.identity.citizens import CitizenSessions
from chalicelib.identity.families import Families
from chalicelib.identity.signin import UpstreamSignIn
from chalicelib.notify.alerts import AlertService
from chalicelib.observability import logger
from chalicelib.pages.account import AccountPages, Visitor, safe_next
from chalicelib.pages.catalog import CatalogPages
from chalicelib.pages.history import HistoryPages
from chalicelib.records.audit import AccessLog
from chalicelib.web import i18n

_FORM = ["application/x-www-form-urlencoded"]


def create_blueprint(catalog: CatalogService, consents: ConsentService, sessions: CitizenSessions,
                     access_log: AccessLog, settings: Settings, upstream: Optional[UpstreamSignIn] = None,
                     exports: Optional[ExportService] = None, families: Optional[Families] = None,
                     alerts: Optional[AlertService] = None, proxies: Optional[ProxyService] = None) -> Blueprint:
    catalog_pages = CatalogPages(catalog)
    history = HistoryPages(access_log, consents, families)
    account = AccountPages(sessions, consents, catalog.referential, demo_sign_in=settings.demo_sign_in,
                           franceconnect=settings.citizen_oidc is not None, upstream=upstream, families=families,
                           proxies=proxies)
    # The sign-out form (on every page) may lead on to the provider's logout (a redirect that CSP's
    # form-action checks too).
    form_targets = (upstream.provider.origin,) if upstream is not None else ()
    secure_cookies = not settings.is_local
    blueprint = Blueprint(__name__)

    def request():
        return blueprint.current_request

    def query() -> Dict[str, str]:
        return query_values(request())

    def form() -> Dict[str, str]:
        """The form's fields, each with its last value; over 16 KB, a 413 page."""
        return {name: values[-1] for name, values in read_form(request()).items()}

    def cookie(name: str = web.SESSION_COOKIE) -> Optional[str]:
        return web.cookie_value(request().headers.get("cookie"), name)

    def language() -> str:
        return i18n.negotiate(query().get("lang"), cookie(i18n.LANG_COOKIE),
                              request().headers.get("accept-language"))

    def cookies(*values: Optional[str]) -> Dict[str, Any]:
        """Set-Cookie for each value given, plus the language cookie when `?lang=` chose one."""
        chosen = query().get("lang")
        values_list: List[str] = [v for v in values if v]
        if chosen in i18n.LANGUAGES and chosen != cookie(i18n.LANG_COOKIE):
            values_list.append(i18n.language_cookie(chosen, secure_cookies))
        if not values_list:
            return {}
        return {"Set-Cookie": values_list[0] if len(values_list) == 1 else values_list}

    def chrome(here: str, section: str, visitor: Visitor) -> Dict[str, Any]:
        lang = language()
        other = "en" if lang == "fr" else "fr"
        params = {k: v for k, v in query().items() if k != "lang"}
        return {"section": section, "next": here, "other_lang": other,
                "switch_url": f"{quote(here)}?{urlencode({**params, 'lang': other})}",
                "signed_in": visitor.citizen is not None,
                "citizen_name": visitor.citizen["name"] if visitor.citizen else None,
                "csrf_token": visitor.session.csrf_token if visitor.session is not None else None,
                "demo": account.demo_sign_in,
                "acting_name": visitor.acting.person.name if visitor.acting is not None else None,
                "acting_kind": visitor.acting.kind if visitor.acting is not None else None}

    def render(template: str, here: str, section: str, visitor: Visitor, context: Dict[str, Any],
               status: int = 200, set_cookies: Optional[List[str]] = None, public: bool = False) -> Response:
        """A page; a `public` one (the catalogue's) is cacheable, in shared caches when nothing in
        it is the visitor's own."""
        headers = cookies(*(set_cookies or []))
        cache_control = "no-store"
        if public and not headers:  # a page that sets a cookie is nobody else's
            if visitor.session is None and not cookie():
                cache_control = f"public, max-age={int(settings.catalog_cache_seconds)}"
                headers["Vary"] = "Accept-Language, Cookie"
            else:  # signed in: the menu is the citizen's; the browser revalidates, 304 when unchanged
                cache_control = "private, no-cache"
        return web.page(template, {"lang": language(), "chrome": chrome(here, section, visitor),
                                   "letters": catalog_pages.letters, **context},
                        status=status, form_targets=form_targets, headers=headers, cache_control=cache_control,
                        if_none_match=request().headers.get("if-none-match"))

    def see_other(location: str, *set_cookies: Optional[str]) -> Response:
        return Response(body="", status_code=303,
                        headers={"Location": location, "Cache-Control": "no-store", **cookies(*set_cookies)})

    def sign_in_first(here: str) -> Response:
        return see_other("/account/sign-in?" + urlencode({"next": here}))

    def error_page(error: DomainError) -> Response:
        """A refusal or a failure as an HTML page in the citizen's language, with their menu
        (not for a failure of ours: the menu's own lookup could fail the same way)."""
        visitor = Visitor(None, None, None)
        if error.status < 500:
            try:
                visitor = account.visitor(cookie())
            except Exception:  # noqa: BLE001 - the error page must not fail on the menu
                logger.exception("visitor lookup failed")
        key = f"error.{error.status}" if f"error.{error.status}" in i18n.messages() else "error.400"
        page = render("error.html", "/", "", visitor, {"message_key": key}, status=error.status)
        page.headers.update({name: value for name, value in error.headers.items() if name == "Retry-After"})
        return page

    html_route = Routes(blueprint, error_page).route

    # -- the catalogue ---------------------------------------------------------------------------

    @html_route("/", methods=["GET"])
    def catalog_page():
        """The catalogue: search, filter by category and écoscore, one page of cards at a time."""
        context = catalog_pages.listing(query())
        return render("catalogue.html", "/", "catalogue", account.visitor(cookie()), context,
                      status=400 if context["invalid"] else 200, public=True)

    @html_route("/apps/{app_id}", methods=["GET"])
    def app_page(app_id: str):
        """An app's page: what it does, the data it may ask for and why, écoscore, compliance."""
        return render("app.html", f"/apps/{app_id}", "catalogue", account.visitor(cookie()),
                      catalog_pages.app(app_id), public=True)

    # -- signing in and out ----------------------------------------------------------------------

    @html_route("/account/sign-in", methods=["GET"])
    def sign_in_page():
        """The sign-in page: FranceConnect when configured; the demo identity picker locally."""
        next_path = safe_next(query().get("next"))
        session_id, _ = account.form_session(cookie())
        visitor = account.visitor(session_id)
        return render("sign_in.html", "/account/sign-in", "sign-in", visitor,
                      {"next": next_path, **account.sign_in_options()},
                      set_cookies=[web.session_cookie(session_id, secure_cookies)])

    @html_route("/account/sign-in", methods=["POST"], content_types=_FORM)
    def sign_in():
        """Signs a demo citizen in (a new session), then goes to `next` (a local path only)."""
        fields = form()
        session_id = account.sign_in(account.visitor(cookie()), fields.get("csrf_token"), fields.get("login_hint"))
        return see_other(safe_next(fields.get("next")), web.session_cookie(session_id, secure_cookies))

    @html_route("/account/sign-out", methods=["POST"], content_types=_FORM)
    def sign_out():
        """Ends the session, then back to the catalogue."""
        provider_logout = account.sign_out(account.visitor(cookie()), form().get("csrf_token"))
        return see_other(provider_logout or "/", web.cleared_session_cookie(secure_cookies))

    # -- my consents -----------------------------------------------------------------------------

    @html_route("/account/consents", methods=["GET"])
    def consents_page():
        """My consents: active and past, each with its receipt and a way to withdraw it."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id or not visitor.subject_id:
            return sign_in_first("/account/consents")
        listed = account.my_consents(visitor.subject_id, visitor.own_acts_only)
        revoked = query().get("revoked")
        revoked_name = next((c["app_name"] for c in listed["past"] if c["app_id"] == revoked), None)
        return render("consents.html", "/account/consents", "consents", visitor,
                      {"consents": listed, "revoked_name": revoked_name,
                       "came_of_age": account.majority_notice(visitor.subject_id, listed),
                       # the signed-in person's own alerts (not shown in a relative's space)
                       "alerts": alerts.settings(visitor.patient_id)
                       if alerts is not None and visitor.acting is None else None,
                       "alerts_saved": query().get("alerts") == "saved"})

    # -- my access alerts (decision 0017) ----------------------------------------------------------

    @html_route("/account/alerts", methods=["GET"])
    def alerts_page():
        """My access alerts: the latest alerts sent to me, French first, English beside."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id or alerts is None:
            return sign_in_first("/account/alerts")
        return render("alerts.html", "/account/alerts", "consents", visitor,
                      {"alerts": alerts.alerts(visitor.patient_id), "settings": alerts.settings(visitor.patient_id)})

    @html_route("/account/alerts", methods=["POST"], content_types=_FORM)
    def choose_alerts():
        """Turns access alerts on (each access, or a daily digest) or off (CSRF-checked)."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id or alerts is None:
            return sign_in_first("/account/consents")
        fields = form()
        account.check_form(visitor, fields.get("csrf_token"))
        alerts.choose(visitor.patient_id, fields.get("mode", "off"), fields.get("email"), language())
        return see_other("/account/consents?alerts=saved")

    def one_consent_page(app_id: str, step: str, template: str, context_of) -> Response:
        """A page about one of the signed-in citizen's consents (`context_of(patient_id)`)."""
        here = f"/account/consents/{app_id}/{step}"
        visitor = account.visitor(cookie())
        if not visitor.patient_id or not visitor.subject_id:
            return sign_in_first(here)
        if not is_app_id(app_id):
            raise NotFound("No such consent.")
        return render(template, here, "consents", visitor, context_of(visitor.subject_id, visitor.own_acts_only))

    @html_route("/account/consents/{app_id}/receipt", methods=["GET"])
    def receipt_page(app_id: str):
        """A consent's receipt, readable and printable (the JSON one is at /me/consents/{app_id}/receipt)."""
        return one_consent_page(app_id, "receipt", "receipt.html",
                                lambda patient_id, only: {"receipt": account.receipt(patient_id, app_id, only)})

    @html_route("/account/consents/{app_id}/revoke", methods=["GET"])
    def revoke_page(app_id: str):
        """The confirmation step before withdrawing a consent."""
        return one_consent_page(app_id, "revoke", "revoke.html",
                                lambda patient_id, only: {"consent": account.consent_to_revoke(patient_id, app_id,
                                                                                               only)})

    @html_route("/account/consents/{app_id}/revoke", methods=["POST"], content_types=_FORM)
    def revoke(app_id: str):
        """Withdraws the consent (CSRF-checked), then back to my consents with a confirmation."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id:
            return sign_in_first("/account/consents")
        if not is_app_id(app_id):
            raise NotFound("No such consent.")
        account.revoke(visitor, form().get("csrf_token"), app_id)
        return see_other("/account/consents?" + urlencode({"revoked": app_id}))

    # -- access history --------------------------------------------------------------------------

    @html_route("/account/history", methods=["GET"])
    def history_page():
        """My access history: which app did what to my record and when, allowed or refused, newest
        first; `app` keeps one app's accesses, `cursor` comes from the "older entries" link."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id:
            app_id = query().get("app")
            return sign_in_first("/account/history" + (f"?{urlencode({'app': app_id})}" if app_id else ""))
        context = history.history(visitor.subject_id or visitor.patient_id, query(), visitor.own_acts_only)
        return render("history.html", "/account/history", "history", visitor, context,
                      status=400 if context["invalid"] else 200)

    # -- my relatives: the people I act for, and those who act for me -------------------------------

    @html_route("/account/relatives", methods=["GET"])
    def relatives_page():
        """Mes proches: the minors I represent (until their 18th birthday) and the people who chose
        me as proxy, with a way to switch to their space; my legal representatives and my proxies;
        and the form that invites a proxy."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id:
            return sign_in_first("/account/relatives")
        return render("relatives.html", "/account/relatives", "relatives", visitor,
                      {"relatives": account.relatives(visitor), "switched": query().get("switched"),
                       "done": query().get("done"), "typed": {}})

    @html_route("/account/relatives/invite", methods=["POST"], content_types=_FORM)
    def invite_proxy():
        """Invites a proxy (CSRF-checked): the invitation link, shown once; a mistake shows the form
        again with what was typed (400), and nothing is written."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id:
            return sign_in_first("/account/relatives")
        posted = read_form(request())
        fields: Dict[str, Any] = {**{name: values[-1] for name, values in posted.items()},
                                  "kinds": posted.get("kinds", [])}
        try:
            code, grant = account.invite(visitor, fields)
        except (InvalidRequest, Conflict) as error:
            return render("relatives.html", "/account/relatives", "relatives", visitor,
                          {"relatives": account.relatives(visitor), "problem": error.message,
                           "typed": fields}, status=error.status)
        link = f"{settings.public_base_url.rstrip('/')}/account/relatives/invitations/{code}"
        return render("proxy_invited.html", "/account/relatives", "relatives", visitor,
                      {"link": link, "grant": grant, "name": f"{grant.invitee['given']} {grant.invitee['family']}"})

    def invitation_refused(visitor: Visitor, error: DomainError) -> Response:
        """An invitation used, withdrawn or expired (410), or meant for someone else (403): said on
        the invitation's page, which then shows nothing of it."""
        problem = "proxy.invitation.gone" if isinstance(error, Gone) else "proxy.invitation.not_you"
        return render("proxy_invitation.html", "/account/relatives", "relatives", visitor, {"problem": problem},
                      status=error.status)

    @html_route("/account/relatives/invitations/{code}", methods=["GET"])
    def invitation_page(code: str):
        """An invitation to act for someone: who invites, for what, until when; accept or decline."""
        here = f"/account/relatives/invitations/{code}"
        visitor = account.visitor(cookie())
        if not visitor.patient_id:
            return sign_in_first(here)
        try:
            invitation = account.invitation(visitor, code)
        except (Gone, NotInvited) as error:
            return invitation_refused(visitor, error)
        return render("proxy_invitation.html", "/account/relatives", "relatives", visitor,
                      {"invitation": invitation, "here": here})

    @html_route("/account/relatives/invitations/{code}", methods=["POST"], content_types=_FORM)
    def answer_invitation(code: str):
        """Accepts or declines the invitation (CSRF-checked; the person it names only, once)."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id:
            return sign_in_first(f"/account/relatives/invitations/{code}")
        fields = form()
        accept = fields.get("answer") == "accept"
        try:
            account.answer_invitation(visitor, fields.get("csrf_token"), code, accept)
        except (Gone, NotInvited) as error:
            return invitation_refused(visitor, error)
        return see_other("/account/relatives?" + urlencode({"done": "accepted" if accept else "declined"}))

    @html_route("/account/relatives/end", methods=["POST"], content_types=_FORM)
    def end_proxy():
        """Ends a proxy link from either side, or withdraws a pending invitation (CSRF-checked):
        the consents the proxy gave end with it."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id:
            return sign_in_first("/account/relatives")
        fields = form()
        account.end_proxy(visitor, fields.get("csrf_token"), fields.get("link"))
        return see_other("/account/relatives?done=ended")

    @html_route("/account/relatives/act-for", methods=["POST"], content_types=_FORM)
    def act_for():
        """Switches the pages to the space of someone I act for (CSRF-checked; `person` empty: back to mine)."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id:
            return sign_in_first("/account/relatives")
        fields = form()
        name = account.act_for(visitor, fields.get("csrf_token"), fields.get("person"))
        return see_other("/account/consents" if name else "/account/relatives?switched=self")

    # -- my data: the archive of my whole record ---------------------------------------------------

    @html_route("/account/export", methods=["GET"])
    def export_page():
        """Download my data: ask for the archive, follow its preparation, download it."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id or exports is None:
            return sign_in_first("/account/export")
        job = exports.status(visitor.patient_id)
        return render("export.html", "/account/export", "export", visitor,
                      {"job": job, "kilobytes": -(-job.get("archive_bytes", 0) // 1024)})

    @html_route("/account/export", methods=["POST"], content_types=_FORM)
    def ask_export_page():
        """Starts the archive (CSRF-checked), or keeps the one under way; then back to its page."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id or exports is None:
            return sign_in_first("/account/export")
        account.check_form(visitor, form().get("csrf_token"))
        exports.request(visitor.patient_id)
        return see_other("/account/export")

    @html_route("/account/export/archive", methods=["GET"])
    def export_archive_page():
        """To the ready archive, by a link valid two minutes (this session's citizen's only)."""
        visitor = account.visitor(cookie())
        if not visitor.patient_id or exports is None:
            return sign_in_first("/account/export")
        return see_other(exports.archive_url(visitor.patient_id))

    return blueprint

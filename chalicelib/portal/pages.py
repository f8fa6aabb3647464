"""What every page of the referencing portal shares: who is looking (their portal session and
principal), the CSRF check of every form, the chrome (menu, language), rendering and redirects."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Union
from urllib.parse import quote, urlencode

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import web
from chalicelib.catalog.referential import Referential
from chalicelib.edge import query_values, read_form
from chalicelib.errors import DomainError, Forbidden
from chalicelib.identity.models import PortalSessionItem
from chalicelib.identity.portal import PORTAL_SESSION_LIFETIME, PortalSessions
from chalicelib.identity.service import Principal
from chalicelib.web import i18n

PORTAL_COOKIE = "mes_portal"  # not the citizens' `mes_session`: another kind of session, another cookie
MAX_LISTING_FORM_BYTES = 256 * 1024  # a listing with every description and justification at its longest


class SignInFirst(Exception):
    """The page needs a signed-in publisher or reviewer."""


@dataclass
class PortalVisitor:
    session_id: Optional[str]
    session: Optional[PortalSessionItem]
    principal: Optional[Principal]


@dataclass
class Member:
    """A signed-in publisher or reviewer looking at a page."""

    session_id: Optional[str]
    session: Optional[PortalSessionItem]
    principal: Principal


def portal_cookie(session_id: str, secure: bool, max_age: int = int(PORTAL_SESSION_LIFETIME.total_seconds())) -> str:
    return (f"{PORTAL_COOKIE}={session_id}; Path=/portal; Max-Age={max_age}; HttpOnly; SameSite=Lax"
            + ("; Secure" if secure else ""))


class PortalPages:
    def __init__(self, blueprint: Blueprint, sessions: PortalSessions, referential: Referential,
                 secure_cookies: bool, demo: bool) -> None:
        self.blueprint, self.sessions, self.referential = blueprint, sessions, referential
        self.secure_cookies, self.demo = secure_cookies, demo

    @property
    def request(self) -> Request:
        return self.blueprint.current_request

    # -- the request ------------------------------------------------------------------------------

    def query(self) -> Dict[str, str]:
        return query_values(self.request)

    def form(self, max_bytes: int = 16 * 1024) -> Dict[str, List[str]]:
        return read_form(self.request, max_bytes)

    def cookie(self, name: str = PORTAL_COOKIE) -> Optional[str]:
        return web.cookie_value(self.request.headers.get("cookie"), name)

    def language(self) -> str:
        return i18n.negotiate(self.query().get("lang"), self.cookie(i18n.LANG_COOKIE),
                              self.request.headers.get("accept-language"))

    # -- who is looking ---------------------------------------------------------------------------

    def visitor(self) -> PortalVisitor:
        session_id = self.cookie()
        session = self.sessions.find(session_id)
        return PortalVisitor(session_id if session is not None else None, session,
                             self.sessions.principal_of(session))

    def signed_in(self, role: str) -> Member:
        """The visitor, who must be signed in with `role` (else the sign-in page, or 403)."""
        visitor = self.visitor()
        if visitor.principal is None:
            raise SignInFirst()
        if visitor.principal.role != role:
            raise Forbidden(f"This page is for the {role}s.")
        return Member(visitor.session_id, visitor.session, visitor.principal)

    @staticmethod
    def check_csrf(visitor: Union[PortalVisitor, Member], fields: Dict[str, List[str]]) -> None:
        token = (fields.get("csrf_token") or [""])[-1]
        if visitor.session is None or not hmac.compare_digest(token, visitor.session.csrf_token):
            raise Forbidden("The form expired or did not come from this site; start again.")

    # -- answers ----------------------------------------------------------------------------------

    def render(self, template: str, here: str, section: str, visitor: Union[PortalVisitor, Member],
               context: Dict[str, Any], status: int = 200, set_cookies: Iterable[str] = (),
               form_targets: Iterable[str] = ()) -> Response:
        lang = self.language()
        other = "en" if lang == "fr" else "fr"
        params = {k: v for k, v in self.query().items() if k != "lang"}
        cookies: List[str] = list(set_cookies)
        chosen = self.query().get("lang")
        if chosen in i18n.LANGUAGES and chosen != self.cookie(i18n.LANG_COOKIE):
            cookies.append(i18n.language_cookie(chosen, self.secure_cookies))
        chrome = {"section": section, "here": here, "other_lang": other, "demo": self.demo,
                  "switch_url": f"{quote(here)}?{urlencode({**params, 'lang': other})}",
                  "principal": visitor.principal,
                  "csrf_token": visitor.session.csrf_token if visitor.session is not None else None}
        headers: Dict[str, Any] = {}
        if cookies:
            headers["Set-Cookie"] = cookies[0] if len(cookies) == 1 else cookies
        return web.page(template, {"lang": lang, "chrome": chrome,
                                   "letters": self.referential.ecoscore_method["letters"], **context},
                        status=status, headers=headers, form_targets=form_targets)

    @staticmethod
    def see_other(location: str, *set_cookies: str) -> Response:
        headers: Dict[str, Any] = {"Location": location, "Cache-Control": "no-store"}
        if set_cookies:
            headers["Set-Cookie"] = set_cookies[0] if len(set_cookies) == 1 else list(set_cookies)
        return Response(body="", status_code=303, headers=headers)

    def sign_in_first(self) -> Response:
        here = self.request.path if web.is_local_path(self.request.path) else "/portal"
        return self.see_other("/portal/sign-in?" + urlencode({"next": here}))

    def error_page(self, error: DomainError) -> Response:
        """A refusal as a page of the portal, in the visitor's language, with their menu."""
        visitor = PortalVisitor(None, None, None)
        if error.status < 500:
            try:
                visitor = self.visitor()
            except Exception:  # noqa: BLE001 - the error page must not fail on the menu
                visitor = PortalVisitor(None, None, None)
        key = f"portal.error.{error.status}"
        page = self.render("portal/error.html", "/portal", "", visitor,
                           {"message_key": key if key in i18n.messages() else "portal.error.400",
                            "detail": error.message}, status=error.status)
        page.headers.update({name: value for name, value in error.headers.items() if name == "Retry-After"})
        return page

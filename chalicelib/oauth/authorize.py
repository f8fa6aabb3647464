"""The authorization endpoint as a citizen meets it: sign-in (fresh enough for prompt=login and
max_age), "for whom?" when they may act for someone else, the consent page, the decision.

Longer than 300 lines: one flow whose steps read and answer the same request in order (OIDC's
prompt values bear on several of them); split apart, each step would take the whole request."""
from __future__ import annotations

import hmac
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from chalice.app import Request

from chalicelib import web
from chalicelib.web import i18n
from chalicelib.catalog.referential import Referential
from chalicelib.consent.service import (DEFAULT_DURATION, DURATIONS, ConsentService, GivenBy, approved_entry,
                                        scope_within)
from chalicelib.errors import oauth_description
from chalicelib.identity.citizens import DEMO_SIGN_IN, CitizenSessions, person_of, session_key
from chalicelib.identity.families import SELF, ActingFor, Families, Person, choice_of, chosen, demo_people
from chalicelib.oauth.scopes import InvalidScope, ScopeRequest
from chalicelib.oauth.grants import Authorization
from chalicelib.oauth.server import BrokerServer, ChaliceOAuth2Request

GRANTABLE_CONTEXT = {"launch/patient", "offline_access", "online_access", "openid", "fhirUser"}
# Where a citizen signs in when the demo picker is off and an upstream provider is configured.
UPSTREAM_SIGN_IN_PATH = "/signin/franceconnect"
# Set by this server when it asks the citizen to sign in again (prompt=login, max_age): the sign-in
# must be at or after this time (unix seconds). Carried instead of `prompt=login` through the
# sign-in, so that the sign-in it asked for satisfies it (else prompt=login would ask forever).
AUTH_AFTER = "auth_after"
PROMPTS = {"none", "login", "consent", "select_account"}
# Authorization request parameters carried through the sign-in and consent forms.
CARRIED = ("response_type", "client_id", "redirect_uri", "scope", "state", "aud", "code_challenge",
           "code_challenge_method", "nonce", "prompt", "max_age", "launch", "login_hint", AUTH_AFTER)
@dataclass
class Outcome:
    """What the route answers: a redirect, or a page; and the session cookie to set, if any."""

    redirect: Optional[str] = None
    template: Optional[str] = None
    context: Dict[str, Any] = field(default_factory=dict)
    status: int = 200
    form_targets: Tuple[str, ...] = ()
    session_id: Optional[str] = None


class AuthorizeFlow:
    def __init__(self, server: BrokerServer, consents: ConsentService, sessions: CitizenSessions,
                 referential: Referential, fhir_base_url: str, demo_logins: bool,
                 upstream_sign_in: bool = False, families: Optional[Families] = None) -> None:
        self.server, self.consents, self.sessions, self.referential = server, consents, sessions, referential
        self.fhir_base_url, self.demo_logins, self.upstream_sign_in = fhir_base_url, demo_logins, upstream_sign_in
        self.families = families

    @property
    def demo_patients(self) -> List[Dict[str, Any]]:
        return demo_people(Path(self.referential.directory))

    # -- the flow -----------------------------------------------------------------------------

    def handle(self, request: Request, cookie_session_id: Optional[str]) -> Outcome:
        oauth_request = ChaliceOAuth2Request(request, self.server.issuer)
        data = oauth_request.payload.data
        if oauth_request.repeated:  # which of two redirect URIs or clients would be meant? A page.
            return self._error("invalid_request", oauth_request.repeated_description(), None, None)
        try:
            grant = self.server.get_consent_grant(oauth_request, end_user=None)
        except OAuth2Error as error:
            return self._error(error.error, error.description or "", error.redirect_uri, data.get("state"))
        except ValueError:
            # Authlib refuses to build an error whose text would quote characters not allowed in
            # an OAuth error (a quote or non-ASCII in redirect_uri or response_type): a page, since
            # nothing about the request can be trusted enough to redirect.
            return self._error("invalid_request", "The request has characters no valid request has.", None, None)
        redirect_uri = data["redirect_uri"]
        client = grant.request.client
        try:
            if not data.get("state"):
                raise OAuth2Error("Send a 'state' to protect the flow.", error="invalid_request")
            if (data.get("aud") or "").rstrip("/") != self.fhir_base_url:
                raise OAuth2Error(f"'aud' must be this FHIR server: {self.fhir_base_url}.", error="invalid_request")
            scopes = ScopeRequest.parse(data.get("scope"))
            granted = scopes.granted_within(client.app.approved_scopes or ())
            # Only what is built is granted; the token response's `scope` tells the client
            # (RFC 6749 §3.3).
            context = set(scopes.context) & GRANTABLE_CONTEXT
            approved = set(client.app.approved_scopes or ())
            if "offline_access" in context and "offline_access" not in approved:
                raise InvalidScope("offline_access was not approved for this app.")
            # online_access is the lesser of the two: an approval of offline_access covers it.
            if "online_access" in context and not approved & {"online_access", "offline_access"}:
                raise InvalidScope("online_access was not approved for this app.")
        except InvalidScope as error:
            return self._error("invalid_scope", error.message, redirect_uri, data.get("state"))
        except OAuth2Error as error:
            return self._error(error.error, error.description, redirect_uri, data.get("state"))

        prompt = set((data.get("prompt") or "").split())
        if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
            return self._error("invalid_request", "'prompt' takes none (alone), login, consent or select_account.",
                               redirect_uri, data.get("state"))

        session_id, session = self.sessions.find_or_start(cookie_session_id)
        form = oauth_request.form
        # Our own sign-in and consent forms carry a CSRF token; a bare POST of the authorization
        # request by an app (authorize-post) carries none and is treated like a GET.
        picked = form.get("login_hint") if form.get("csrf_token") else None  # the demo picker's choice
        ours = bool(form.get("decision") or picked or form.get("patient_choice"))
        if ours and not hmac.compare_digest(form.get("csrf_token", ""), session.csrf_token):
            return self._error("invalid_request", "The form expired or did not come from this site; start again.",
                               None, None, status=403, session_id=session_id)
        try:  # our own forms come after the sign-in that prompt=login or max_age asked for
            signed_in_after = self._signed_in_after(data, prompt - {"login"} if ours else prompt)
        except OAuth2Error as error:
            return self._error(error.error, error.description, redirect_uri, data.get("state"))
        if picked and self.demo_logins and not form.get("decision"):
            # Submitting the picker is signing in, afresh (auth_time is now). A login_hint in the
            # request itself only pre-selects someone on the picker: it never signs anyone in.
            if picked not in {p["id"] for p in self.demo_patients}:
                return self._page("login.html", data, session_id, session, client, status=400)
            if session_id == cookie_session_id:  # as on every sign-in: an id planted before signs no one in
                session_id, session = self.sessions.sign_in(session_id, picked, signed_in_by=DEMO_SIGN_IN)
            else:  # a session this very request started: no one else can hold its id
                self.sessions.sign_in_new_session(session, picked, signed_in_by=DEMO_SIGN_IN)
        hint = data.get("login_hint") if self.demo_logins and not ours else None
        someone_else = bool(hint and session.patient_id and session.patient_id != hint)
        if not session.patient_id or someone_else or (
                signed_in_after is not None and _signed_in_at(session) < signed_in_after):
            # Not signed in; or signed in as someone else than the app's login_hint, whom a GET never
            # switches (the picker lets the person choose); or not recently enough for prompt=login
            # or max_age (OIDC Core 3.1.2.1).
            if "none" in prompt:
                return self._error("login_required", "The citizen must sign in; prompt=none allows no page.",
                                   redirect_uri, data.get("state"), session_id=session_id)
            again = _after_sign_in(data, signed_in_after)
            if not self.demo_logins and self.upstream_sign_in:
                # Back here once signed in: the same request, as a local path (never another site).
                back = "/oauth/authorize?" + urlencode([(name, again[name]) for name in CARRIED if again.get(name)])
                return Outcome(redirect=UPSTREAM_SIGN_IN_PATH + "?" + urlencode({"next": back}),
                               session_id=session_id)
            if not self.demo_logins:
                return self._error("temporarily_unavailable", "Citizen sign-in is not configured.",
                                   redirect_uri, data.get("state"), session_id=session_id)
            return self._page("login.html", again, session_id, session, client, hint=data.get("login_hint"))

        acting, asked, choice = self._for_whom(data, form, session_id, session, client, prompt)
        if asked is not None:
            return asked
        patient_id = acting.person.id
        vouched = person_of(session)
        name = (self.families.name(session.patient_id) if self.families else None) or (vouched.name if vouched else "")
        given_by = None if acting.kind == SELF else GivenBy(session.patient_id, acting.kind, name, acting.until,
                                                            acting.kinds, acting.link_id)
        # A proxy grants only within the kinds of data they were chosen for, however the request is made.
        within = [scope for scope in granted if scope_within(scope, acting.kinds)]
        if granted and not within:
            return self._error("access_denied", "The person acting may not grant the data this app asks for.",
                               redirect_uri, data.get("state"), session_id=session_id)
        granted = within

        decision = form.get("decision")
        if decision == "deny":
            return self._back(redirect_uri, [("error", "access_denied"), ("state", data["state"])], session_id)
        if decision == "allow":
            chosen = [scope for scope in granted if scope in set(oauth_request.scope_choices)]
            if granted and not chosen:
                return self._back(redirect_uri, [("error", "access_denied"), ("state", data["state"])], session_id)
            duration = DURATIONS.get(form.get("duration", DEFAULT_DURATION), DURATIONS[DEFAULT_DURATION])
            consent = self.consents.grant(patient_id, client.head, chosen, sorted(context), duration, given_by)
            return self._issue(grant, consent, chosen, context, session_id, session)
        active = self.consents.active(patient_id, client.get_client_id())
        # A consent stands for whoever gave it: someone else acting for the patient gives their own.
        given_here = active is not None and active.given_by == (given_by.person_id if given_by else None)
        if "consent" not in prompt and given_here and self.consents.covers(active, granted, context):
            return self._issue(grant, active, granted, context, session_id, session)
        if "none" in prompt:
            return self._error("consent_required", "The citizen has not consented to this; prompt=none allows no page.",
                               redirect_uri, data.get("state"), session_id=session_id)
        return self._consent_page(data, session_id, session, client, granted, context, acting, choice)

    def _for_whom(self, data, form, session_id, session, client, prompt
                  ) -> Tuple[ActingFor, Optional[Outcome], Optional[str]]:
        """Whom this authorization is for: the signed-in person, or someone they may act for, chosen
        on the "for whom?" page (SMART's standalone patient picker). A choice is an opaque value
        bound to the session: a crafted one, or one for someone the person may not act for, is refused.
        Returns the person, the page or error to answer instead (if any), and the choice honoured
        (None when there was none to make), which the consent page carries on."""
        options = (self.families.options(session.patient_id) if self.families
                   else [ActingFor(Person.unknown(session.patient_id), SELF)])
        if len(options) == 1:
            return options[0], None, None
        choice = form.get("patient_choice")
        if not choice:
            if "none" in prompt:
                return options[0], self._error("interaction_required", "The person must choose whom this is for; "
                                               "prompt=none allows no page.", data["redirect_uri"], data.get("state"),
                                               session_id=session_id), None
            return options[0], self._page("for_whom.html", data, session_id, session, client, options=[
                {"choice": choice_of(session.csrf_token, option.person.id), "name": option.person.name,
                 "kind": option.kind, "until": option.until, "kinds": sorted(option.kinds or ())}
                for option in options]), None
        option = chosen(session.csrf_token, choice, options)
        if option is not None:
            return option, None, choice
        return options[0], self._error("access_denied", "You may not act for this person.", None, None, status=403,
                                       session_id=session_id), None

    def _signed_in_after(self, data: Dict[str, str], prompt: set) -> Optional[float]:
        """The time (unix seconds) at or after which the citizen must have signed in: now for
        prompt=login, now - max_age for max_age, or what an earlier step of this flow asked
        (AUTH_AFTER); None when any sign-in will do."""
        now = self.server.clock().timestamp()
        if data.get(AUTH_AFTER):
            try:
                asked = float(data[AUTH_AFTER])
                if not math.isfinite(asked):
                    raise ValueError
                return min(asked, now)
            except ValueError:
                raise OAuth2Error(f"'{AUTH_AFTER}' is not a time.", error="invalid_request") from None
        after: Optional[float] = now if "login" in prompt else None
        if data.get("max_age"):
            try:
                max_age = int(data["max_age"])
            except ValueError:
                raise OAuth2Error("'max_age' must be a whole number of seconds.", error="invalid_request") from None
            if max_age < 0:
                raise OAuth2Error("'max_age' must be a whole number of seconds.", error="invalid_request")
            after = max(after or 0, now - max_age)
        return after

    def _issue(self, grant, consent, data_scopes, context, session_id, session) -> Outcome:
        grant.request.consented_scope = " ".join([*data_scopes, *sorted(context)])
        # The session rides along for online_access: its refresh tokens live as long as this sign-in.
        # auth_time is when the citizen signed in (OIDC Core 2), not when the code is issued.
        grant.request.user = Authorization.of_consent(consent, session_key=session_key(session_id),
                                                      auth_time=int(_signed_in_at(session)))
        status, _, headers = self.server.create_authorization_response(
            grant.request, grant_user=grant.request.user, grant=grant)
        return self._back(headers["Location"], [], session_id)

    def _back(self, redirect_uri: str, params: List[Tuple[str, str]], session_id: Optional[str]) -> Outcome:
        """To the app's (verified) redirect URI, always saying who answers (RFC 9207 `iss`), so
        that a client talking to several servers cannot be fooled into sending our code to
        another (mix-up attacks)."""
        return Outcome(redirect=add_params_to_uri(redirect_uri, [*params, ("iss", self.server.issuer)]),
                       session_id=session_id)

    # -- pages --------------------------------------------------------------------------------

    def _params(self, data: Dict[str, str]) -> List[Tuple[str, str]]:
        """The request's parameters as the page's form carries them (never a login_hint: the
        picker's own field is the one that signs in)."""
        return [("requested_scope" if name == "scope" else name, data[name]) for name in CARRIED
                if data.get(name) and name != "login_hint"]

    def _page(self, template, data, session_id, session, client, status=200, **context) -> Outcome:
        return Outcome(template=template, status=status, session_id=session_id,
                       form_targets=(web.origin_of(data["redirect_uri"]),),
                       context={"lang": "fr", "params": self._params(data), "csrf_token": session.csrf_token,
                                "app_name": client.head.public["name"], "patients": self.demo_patients,
                                "letters": self.referential.ecoscore_method["letters"], **context})

    def _consent_page(self, data, session_id, session, client, granted, context, acting: ActingFor,
                      choice: Optional[str]) -> Outcome:
        public = client.head.public
        requested = [{**(approved_entry(public["data_access"], scope) or {"label": {"fr": scope, "en": scope}}),
                      "scope": scope} for scope in granted]
        patient = next((p for p in self.demo_patients if p["id"] == session.patient_id), None)
        patient_name = f"{patient['given']} {patient['family']}" if patient else session.patient_id
        acting_for = None if acting.kind == SELF else {"name": acting.person.name, "until": acting.until,
                                                       "kind": acting.kind, "kinds": sorted(acting.kinds or ())}
        # The choice made on the "for whom?" page goes on with the decision (none when there was no choice).
        return self._page("consent.html", data, session_id, session, client, app=public, requested=requested,
                          offline="offline_access" in context, patient_name=patient_name, acting_for=acting_for,
                          choice=choice,
                          online="online_access" in context and "offline_access" not in context,
                          durations=list(DURATIONS),
                          default_duration=DEFAULT_DURATION)

    def _error(self, error: str, description: str, redirect_uri: Optional[str], state: Optional[str],
               status: int = 400, session_id: Optional[str] = None) -> Outcome:
        """Back to the app when its redirect URI is known to be registered; otherwise a page,
        never a redirect to an unverified address."""
        if redirect_uri:
            params = [("error", error), ("error_description", oauth_description(description))]
            if state:
                params.append(("state", state))
            return self._back(redirect_uri, params, session_id)
        known = f"oauth.error.{error}"
        return Outcome(template="error.html", status=status, session_id=session_id,
                       context={"lang": "fr", "bilingual": True, "title_key": "error.request_title", "code": error,
                                "detail": description,
                                "message_key": known if known in i18n.messages() else "oauth.error.other",
                                "letters": []})



def _signed_in_at(session) -> float:
    """When the session's citizen signed in: a session is made anew at every sign-in (sessions.sign_in),
    or signed into in the very request that started it (sign_in_new_session)."""
    return session.created_at.timestamp()


def _after_sign_in(data: Dict[str, str], signed_in_after: Optional[float]) -> Dict[str, str]:
    """The request as the sign-in carries it on: `prompt=login` and `max_age` become the time the
    sign-in must follow (AUTH_AFTER), which the sign-in about to happen satisfies."""
    if signed_in_after is None:
        return data
    again = {name: value for name, value in data.items() if name != "max_age"}
    prompt = " ".join(value for value in (data.get("prompt") or "").split() if value != "login")
    again["prompt"] = prompt
    again[AUTH_AFTER] = f"{signed_in_after:.3f}"
    return again



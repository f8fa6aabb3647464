"""Sessions at the broker: a random id in an HttpOnly cookie, the rest server-side; citizens' sessions
here, the portal's in portal.py, both on the same rules (Sessions)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Mapping, Optional, Tuple, Type

from chalicelib.errors import Unauthenticated
from chalicelib.grants import grant_key
from chalicelib.identity.families import Person
from chalicelib.identity.models import SessionItem
from chalicelib.identity.store import SessionStore

SESSION_LIFETIME = timedelta(minutes=30)
DEMO_SIGN_IN = "demo"  # who vouched for a session's citizen: the demo identity picker (local and test stages)
# An upstream sign-in (FranceConnect) must come back within this delay.
SIGN_IN_LIFETIME = timedelta(minutes=10)


def session_key(session_id: str) -> str:
    """The session's key in the Grants table (the cookie's value is never stored)."""
    return grant_key("session", session_id)


@dataclass(frozen=True)
class PendingSignIn:
    """What an upstream sign-in keeps between the redirect and the callback."""

    state: str
    nonce: str
    verifier: str
    next_path: str


def session_alive(key: str, patient_id: str, now: datetime, store: Optional[SessionStore] = None) -> bool:
    """Whether the session with this grant key still signs this citizen in (online_access)."""
    session = (store or SessionStore()).find(key)
    return session is not None and session.expires_at > now and session.patient_id == patient_id


class Sessions:
    """What citizens' and portal sessions share: a random id in a cookie, the item server-side under
    `key(id)` (each kind its own prefix, so that one kind's cookie never finds the other's), a CSRF
    token, an expiry, and an upstream sign-in kept between the redirect and the callback, taken once.
    Stored by `store` (identity/store.py); subclasses name the item, its key, lifetime and landing page."""

    item_class: Type[SessionItem] = SessionItem
    lifetime: timedelta = SESSION_LIFETIME
    landing = "/"  # where a pending sign-in goes back to when it named no page

    def __init__(self, clock: Callable[[], datetime], store: Optional[SessionStore] = None) -> None:
        self.clock = clock
        self.store = store or SessionStore()

    @staticmethod
    def key(session_id: str) -> str:
        return session_key(session_id)

    def find(self, session_id: Optional[str]) -> Optional[Any]:
        if not session_id or len(session_id) > 100:
            return None
        session = self.store.find(self.key(session_id))
        if not isinstance(session, self.item_class) or session.expires_at <= self.clock():
            return None
        return session

    def find_or_start(self, session_id: Optional[str]) -> Tuple[str, Any]:
        session = self.find(session_id)
        if session is not None and session_id is not None:
            return session_id, session
        return self._start()

    def _start(self, **values: Any) -> Tuple[str, Any]:
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        session = self.item_class(self.key(session_id), csrf_token=secrets.token_urlsafe(32), created_at=now,
                                  expires_at=now + self.lifetime, **values)
        self.store.create(session)
        return session_id, session

    def end(self, session_id: Optional[str]) -> None:
        """Sign-out: the session is gone, and with it what lived with it (online_access tokens)."""
        if not session_id or len(session_id) > 100:
            return
        self.store.delete(self.key(session_id))

    # -- upstream sign-in (OpenID Connect) -------------------------------------------------------

    def begin_sign_in(self, session_id: Optional[str], pending: PendingSignIn) -> str:
        """Keep state, nonce, PKCE verifier and destination server-side; a new attempt replaces
        an unfinished one. Returns the session id (a new one if there was none)."""
        started_at = self.clock()
        session = self.find(session_id)
        if session is None or session_id is None:  # one write: the new session holds the pending sign-in
            return self._start(signin_state=pending.state, signin_nonce=pending.nonce,
                               signin_verifier=pending.verifier, signin_next=pending.next_path,
                               signin_started_at=started_at)[0]
        self.store.keep_sign_in(session, pending.state, pending.nonce, pending.verifier, pending.next_path, started_at)
        return session_id

    def take_sign_in(self, session_id: Optional[str], state: str) -> Optional[PendingSignIn]:
        """The pending sign-in whose `state` this is, removed at once (a callback is used once,
        even when two arrive together); None when there is none, it differs, or it is too old."""
        session = self.find(session_id)
        if session is None or not session.signin_state or not state:
            return None
        started_at = session.signin_started_at
        pending = PendingSignIn(state, session.signin_nonce or "", session.signin_verifier or "",
                                session.signin_next or self.landing)
        if not self.store.take_sign_in(session, state):
            return None
        if started_at is None or self.clock() - started_at > SIGN_IN_LIFETIME:
            return None
        return pending


class CitizenSessions(Sessions):
    """The rules of citizens' sessions at the broker."""

    def citizen(self, session_id: Optional[str]) -> str:
        """The signed-in citizen's internal id, or 401."""
        session = self.find(session_id)
        if session is None or not session.patient_id:
            raise Unauthenticated("Sign in first (Mon espace santé session).",
                                  headers={"WWW-Authenticate": 'Cookie realm="mes-appstore"'})
        return session.patient_id

    def act_for(self, session: SessionItem, person_id: Optional[str]) -> None:
        """The pages now show the space of `person_id` (whom the caller checked the citizen may
        act for), or the citizen's own (None)."""
        self.store.set_acting_for(session, person_id)

    def sign_in_new_session(self, session: SessionItem, patient_id: str, signed_in_by: str) -> None:
        """Sign the citizen into a session that this very request started (no one else can hold
        its id, so it need not be replaced): one UpdateItem, where sign_in writes twice."""
        self.store.set_citizen(session, patient_id, signed_in_by)

    def sign_in(self, old_session_id: Optional[str], patient_id: str, signed_in_by: str,
                id_token_hint: Optional[str] = None, identity: Optional[Person] = None) -> Tuple[str, SessionItem]:
        """A new session for the citizen, the old one deleted: an id planted before sign-in
        (session fixation) signs no one in. `identity`: who the provider says they are."""
        self.end(old_session_id)
        vouched = {"given_name": identity.given, "family_name": identity.family,
                   "birth_date": identity.birth_date.isoformat()} if identity is not None else {}
        return self._start(patient_id=patient_id, signed_in_by=signed_in_by, id_token_hint=id_token_hint, **vouched)


def person_of(session: Optional[SessionItem]) -> Optional[Person]:
    """The signed-in citizen as their identity provider described them, if it did."""
    if session is None or not session.patient_id or not (session.given_name and session.family_name):
        return None
    try:
        born = date.fromisoformat(session.birth_date or "")
    except ValueError:
        return None
    return Person(session.patient_id, session.given_name, session.family_name, born)


def identity_in(claims: Mapping[str, Any], patient_id: str) -> Optional[Person]:
    """The identity an OpenID Connect provider vouched for (`given_name`, `family_name`,
    `birthdate`, as FranceConnect gives them), if complete; a birth date it does not know in full
    (FranceConnect's 00 day or month) is no date."""
    given, family, born = claims.get("given_name"), claims.get("family_name"), claims.get("birthdate")
    if not all(isinstance(value, str) and 0 < len(value) <= 200 for value in (given, family, born)):
        return None
    try:
        return Person(patient_id, str(given), str(family), date.fromisoformat(str(born)))
    except ValueError:
        return None

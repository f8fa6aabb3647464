"""Citizens' sessions at the broker: a random id in an HttpOnly cookie, the rest server-side."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Optional, Tuple

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from chalicelib.errors import Unauthenticated
from chalicelib.grants import grant_key
from chalicelib.identity.models import SessionItem

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


def session_alive(key: str, patient_id: str, now: datetime) -> bool:
    """Whether the session with this grant key still signs this citizen in (online_access)."""
    try:
        session = SessionItem.get(key)
    except DoesNotExist:
        return False
    return session.expires_at > now and session.patient_id == patient_id


class CitizenSessions:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    def find(self, session_id: Optional[str]) -> Optional[SessionItem]:
        if not session_id or len(session_id) > 100:
            return None
        try:
            session = SessionItem.get(session_key(session_id))
        except DoesNotExist:
            return None
        return session if session.expires_at > self.clock() else None

    def find_or_start(self, session_id: Optional[str]) -> Tuple[str, SessionItem]:
        session = self.find(session_id)
        if session is not None and session_id is not None:
            return session_id, session
        return self._start()

    def _start(self, **values: Any) -> Tuple[str, SessionItem]:
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        session = SessionItem(session_key(session_id), csrf_token=secrets.token_urlsafe(32), created_at=now,
                              expires_at=now + SESSION_LIFETIME, **values)
        session.save(condition=SessionItem.grant_key.does_not_exist())
        return session_id, session

    def citizen(self, session_id: Optional[str]) -> str:
        """The signed-in citizen's internal id, or 401."""
        session = self.find(session_id)
        if session is None or not session.patient_id:
            raise Unauthenticated("Sign in first (Mon espace santé session).",
                                  headers={"WWW-Authenticate": 'Cookie realm="mes-appstore"'})
        return session.patient_id


    def end(self, session_id: Optional[str]) -> None:
        """Sign-out: the session is gone, and with it every online_access refresh token of it."""
        if not session_id or len(session_id) > 100:
            return
        try:
            SessionItem(session_key(session_id)).delete()
        except DeleteError:
            pass

    # -- upstream sign-in (OpenID Connect) -------------------------------------------------------

    def begin_sign_in(self, session_id: Optional[str], pending: PendingSignIn) -> str:
        """Keep state, nonce, PKCE verifier and destination server-side; a new attempt replaces
        an unfinished one. Returns the session id (a new one if there was none)."""
        pending_values = {"signin_state": pending.state, "signin_nonce": pending.nonce,
                          "signin_verifier": pending.verifier, "signin_next": pending.next_path,
                          "signin_started_at": self.clock()}
        session = self.find(session_id)
        if session is None or session_id is None:  # one write: the new session holds the pending sign-in
            return self._start(**pending_values)[0]
        session.update(actions=[getattr(SessionItem, name).set(value) for name, value in pending_values.items()])
        return session_id

    def take_sign_in(self, session_id: Optional[str], state: str) -> Optional[PendingSignIn]:
        """The pending sign-in whose `state` this is, removed at once (a callback is used once,
        even when two arrive together); None when there is none, it differs, or it is too old."""
        session = self.find(session_id)
        if session is None or not session.signin_state or not state:
            return None
        started_at = session.signin_started_at
        pending = PendingSignIn(state, session.signin_nonce or "", session.signin_verifier or "",
                                session.signin_next or "/")
        try:
            session.update(actions=[SessionItem.signin_state.remove(), SessionItem.signin_nonce.remove(),
                                    SessionItem.signin_verifier.remove(), SessionItem.signin_next.remove(),
                                    SessionItem.signin_started_at.remove()],
                           condition=SessionItem.signin_state == state)
        except UpdateError:
            return None
        if started_at is None or self.clock() - started_at > SIGN_IN_LIFETIME:
            return None
        return pending

    def sign_in(self, old_session_id: Optional[str], patient_id: str, signed_in_by: str,
                id_token_hint: Optional[str] = None) -> Tuple[str, SessionItem]:
        """A new session for the citizen, the old one deleted: an id planted before sign-in
        (session fixation) signs no one in."""
        self.end(old_session_id)
        return self._start(patient_id=patient_id, signed_in_by=signed_in_by, id_token_hint=id_token_hint)

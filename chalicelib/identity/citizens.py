"""Citizens' sessions at the broker: a random id in an HttpOnly cookie, the rest server-side."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Callable, Optional, Tuple

from pynamodb.exceptions import DoesNotExist

from chalicelib.errors import Unauthenticated
from chalicelib.oauth.models import SessionItem, grant_key

SESSION_LIFETIME = timedelta(minutes=30)


class CitizenSessions:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    def find(self, session_id: Optional[str]) -> Optional[SessionItem]:
        if not session_id or len(session_id) > 100:
            return None
        try:
            session = SessionItem.get(grant_key("session", session_id))
        except DoesNotExist:
            return None
        return session if session.expires_at > self.clock() else None

    def find_or_start(self, session_id: Optional[str]) -> Tuple[str, SessionItem]:
        session = self.find(session_id)
        if session is not None:
            return session_id, session
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        session = SessionItem(grant_key("session", session_id), csrf_token=secrets.token_urlsafe(32),
                              created_at=now, expires_at=now + SESSION_LIFETIME)
        session.save()
        return session_id, session

    def citizen(self, session_id: Optional[str]) -> str:
        """The signed-in citizen's internal id, or 401."""
        session = self.find(session_id)
        if session is None or not session.patient_id:
            raise Unauthenticated("Sign in first (Mon espace santé session).",
                                  headers={"WWW-Authenticate": 'Cookie realm="mes-appstore"'})
        return session.patient_id

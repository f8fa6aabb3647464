"""The identity domain's items in the grants table (identity/models.py): every read and write of
citizens' sessions (SessionStore, given to CitizenSessions) and of the links from an upstream
identity to a citizen (LinkStore, given to CitizenDirectory). A write states its condition; the
rules (a session's expiry, how long a sign-in may take) stay in the services."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.grants import grant_key
from chalicelib.identity.models import CitizenLink, SessionItem


class SessionStore:
    """Citizens' sessions, by their key in the grants table (`session#sha256(id)`)."""

    def find(self, key: str) -> Optional[SessionItem]:
        """The session, expired or not (the table's TTL removes it late); None when there is none."""
        try:
            return SessionItem.get(key)
        except DoesNotExist:
            return None

    def create(self, session: SessionItem) -> None:
        """A new session, never over an existing one (one PutItem)."""
        session.save(condition=SessionItem.grant_key.does_not_exist())

    def delete(self, key: str) -> None:
        """The session gone, if it was there (one DeleteItem, which succeeds on a missing item).
        A throttled or failed delete is raised (503, the citizen signs out again): a sign-out
        that silently left the session alive would be worse."""
        SessionItem(key).delete()

    def set_citizen(self, session: SessionItem, patient_id: str, signed_in_by: str) -> None:
        """The session now signs this citizen in (one UpdateItem, unconditional): for a session
        that the same request started, whose id no one else can hold."""
        session.update(actions=[SessionItem.patient_id.set(patient_id),
                                SessionItem.signed_in_by.set(signed_in_by)])

    def set_acting_for(self, session: SessionItem, person_id: Optional[str]) -> None:
        """Whose space the session's pages show (None: the citizen's own); one UpdateItem."""
        action = SessionItem.acting_for.set(person_id) if person_id else SessionItem.acting_for.remove()
        session.update(actions=[action])

    def keep_sign_in(self, session: SessionItem, state: str, nonce: str, verifier: str, next_path: str,
                     started_at: datetime) -> None:
        """An upstream sign-in under way, kept in the session (one UpdateItem, unconditional): it
        replaces an unfinished one."""
        session.update(actions=[SessionItem.signin_state.set(state), SessionItem.signin_nonce.set(nonce),
                                SessionItem.signin_verifier.set(verifier), SessionItem.signin_next.set(next_path),
                                SessionItem.signin_started_at.set(started_at)])

    def take_sign_in(self, session: SessionItem, state: str) -> bool:
        """The pending sign-in removed from the session, if its state is still `state` (one
        UpdateItem, conditional): of two callbacks with the same state, one only gets True. A
        throttled or failed update is raised (503: the citizen tries again), not taken for a
        replay."""
        try:
            session.update(actions=[SessionItem.signin_state.remove(), SessionItem.signin_nonce.remove(),
                                    SessionItem.signin_verifier.remove(), SessionItem.signin_next.remove(),
                                    SessionItem.signin_started_at.remove()],
                           condition=SessionItem.signin_state == state)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            return False
        return True


class LinkStore:
    """Links from an upstream identity (issuer, sub) to a citizen's internal id, keyed by their
    hash (`citizen#sha256(issuer + "\\n" + sub)`). Durable: never expire, never deleted here."""

    @staticmethod
    def key(issuer: str, subject: str) -> str:
        return grant_key("citizen", f"{issuer}\n{subject}")

    def find(self, issuer: str, subject: str) -> Optional[CitizenLink]:
        """The identity's link, if it has one (one GetItem, eventually consistent)."""
        try:
            return CitizenLink.get(self.key(issuer, subject))
        except DoesNotExist:
            return None

    def create(self, issuer: str, subject: str, patient_id: str, at: datetime) -> CitizenLink:
        """The identity linked to `patient_id`, unless it is linked already (one conditional
        PutItem). When its condition fails, a concurrent first sign-in of the same identity won: its
        link, read strongly consistent (one GetItem), is the one returned. A throttled or failed
        write is raised (503), never taken for a lost race."""
        link = CitizenLink(self.key(issuer, subject), patient_id=patient_id, issuer=issuer, linked_at=at)
        try:
            link.save(condition=CitizenLink.grant_key.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            return CitizenLink.get(link.grant_key, consistent_read=True)
        return link

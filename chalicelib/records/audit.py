"""The access log: every access by an app to a citizen's record, allowed or refused.

Entries are written by the FHIR gate (in the transaction that authorizes the access) and read by
the citizen (/me/access-log), newest first, one Query per page."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Optional

from chalicelib.ids import is_app_id
from chalicelib.errors import InvalidRequest
from chalicelib.records.models import AuditItem
from chalicelib.records.store import AuditStore
from chalicelib import cursors
from chalicelib.clock import Clock

MAX_PAGE = 100
# How long the citizen's access history keeps an entry (then DynamoDB's TTL removes it).
AUDIT_RETENTION = timedelta(days=3 * 365)


def new_entry(patient_id: str, app_id: str, at: datetime, interaction: str, resource_type: str,
              resource_id: Optional[str] = None, count: int = 0, outcome: str = "allowed",
              reason: Optional[str] = None, actor_id: Optional[str] = None,
              acting_as: Optional[str] = None) -> AuditItem:
    stamp = f"{at.isoformat(timespec='microseconds')}#{secrets.token_hex(4)}"
    return AuditItem(patient_id, stamp, app_key=f"{app_id}#{stamp}", app_id=app_id, at=at,
                     interaction=interaction, resource_type=resource_type, resource_id=resource_id,
                     resources=count, outcome=outcome, reason=reason, expires_at=at + AUDIT_RETENTION,
                     actor_id=actor_id, acting_as=acting_as)


class AccessLog:
    """The citizen's reading of the access log; its storage is `store` (records/store.py)."""

    def __init__(self, clock: Clock, store: Optional[AuditStore] = None,
                 names: Optional[Callable[[str, str], Optional[str]]] = None) -> None:
        self.clock = clock
        self.store = store or AuditStore()
        # The name of someone who acted for a citizen: names(citizen, actor's internal id) (app.py)
        self.names = names

    def history(self, patient_id: str, app_id: Optional[str] = None, cursor: Optional[str] = None,
                limit: int = 20, actor_id: Optional[str] = None) -> Dict[str, Any]:
        """A page of the citizen's access history, newest first; `app_id` keeps one app's accesses,
        `actor_id` what that person did for the citizen (a proxy's view). One Query, and one
        BatchGetItem for the names of the apps on the page."""
        if app_id is not None and not is_app_id(app_id):
            raise InvalidRequest("'app' is not an app id.", [{"parameter": "app", "message": "not an app id"}])
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"'limit' must be between 1 and {MAX_PAGE}.")
        items, last = self.store.page(patient_id, app_id, _position(cursor, app_id), limit, actor_id)
        names = self.store.app_names({item.app_id for item in items})
        known: Dict[str, Optional[str]] = {}  # each actor's name looked up once a page
        entries = [{"at": item.at.isoformat(), "app_id": item.app_id, "app_name": names.get(item.app_id, item.app_id),
                    "interaction": item.interaction, "resource_type": item.resource_type,
                    "resource_id": item.resource_id, "count": int(item.resources), "outcome": item.outcome,
                    "reason": item.reason, **self._actor(item, known)} for item in items]
        return {"entries": entries, "next": cursors.encode({"p": last}) if last else None}

    def _actor(self, item: AuditItem, known: Dict[str, Optional[str]]) -> Dict[str, Any]:
        """Who acted through the app for the citizen, if not the citizen: their name and capacity."""
        if not item.actor_id:
            return {}
        if item.actor_id not in known:
            known[item.actor_id] = self.names(item.patient_id, item.actor_id) if self.names is not None else None
        return {"acted_by": {"name": known[item.actor_id], "as": item.acting_as}}


def _position(cursor: Optional[str], app_id: Optional[str]) -> Optional[str]:
    """Where a cursor resumes, within this citizen's log only: the store takes the partition from
    the citizen, never from the cursor, and an app's list resumes only at an entry of that app."""
    if cursor is None:
        return None
    try:
        position = cursors.decode(cursor).get("p")
    except cursors.InvalidCursor:
        position = None
    if not isinstance(position, str) or len(position) > 300:
        raise InvalidRequest("'cursor' is not a cursor of this list.")
    if app_id is not None and not position.startswith(f"{app_id}#"):
        raise InvalidRequest("'cursor' is not a cursor of this list.")
    return position

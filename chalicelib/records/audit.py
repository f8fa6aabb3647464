"""The access log: every access by an app to a citizen's record, allowed or refused.

Entries are written by the FHIR gate (in the transaction that authorizes the access) and read by
the citizen (/me/access-log), newest first, one Query per page."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, Dict, Optional

from chalicelib.catalog.models import HEAD_VERSION, AppHead
from chalicelib.ids import is_app_id
from chalicelib.errors import InvalidRequest
from chalicelib.records.models import AuditItem
from chalicelib import cursors
from chalicelib.clock import Clock

MAX_PAGE = 100
# How long the citizen's access history keeps an entry (then DynamoDB's TTL removes it).
AUDIT_RETENTION = timedelta(days=3 * 365)


def new_entry(patient_id: str, app_id: str, at: datetime, interaction: str, resource_type: str,
              resource_id: Optional[str] = None, count: int = 0, outcome: str = "allowed",
              reason: Optional[str] = None) -> AuditItem:
    stamp = f"{at.isoformat(timespec='microseconds')}#{secrets.token_hex(4)}"
    return AuditItem(patient_id, stamp, app_key=f"{app_id}#{stamp}", app_id=app_id, at=at,
                     interaction=interaction, resource_type=resource_type, resource_id=resource_id,
                     resources=count, outcome=outcome, reason=reason, expires_at=at + AUDIT_RETENTION)


class AccessLog:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def history(self, patient_id: str, app_id: Optional[str] = None, cursor: Optional[str] = None,
                limit: int = 20) -> Dict[str, Any]:
        """A page of the citizen's access history, newest first; `app_id` keeps one app's accesses."""
        if app_id is not None and not is_app_id(app_id):
            raise InvalidRequest("'app' is not an app id.", [{"parameter": "app", "message": "not an app id"}])
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"'limit' must be between 1 and {MAX_PAGE}.")
        start = _decode(cursor, patient_id, app_id)
        if app_id is None:
            query = AuditItem.query(patient_id, scan_index_forward=False, limit=limit,
                                    last_evaluated_key=start)
        else:
            query = AuditItem.by_app.query(patient_id, AuditItem.app_key.startswith(f"{app_id}#"),
                                           scan_index_forward=False, limit=limit, last_evaluated_key=start)
        items = list(query)
        names = _app_names({item.app_id for item in items})
        entries = [{"at": item.at.isoformat(), "app_id": item.app_id, "app_name": names.get(item.app_id, item.app_id),
                    "interaction": item.interaction, "resource_type": item.resource_type,
                    "resource_id": item.resource_id, "count": int(item.resources), "outcome": item.outcome,
                    "reason": item.reason} for item in items]
        last = query.last_evaluated_key
        return {"entries": entries, "next": _encode(last, app_id) if last else None}


def _app_names(app_ids) -> Dict[str, str]:
    """Names of the apps on one page: one BatchGet of their heads."""
    names: Dict[str, str] = {}
    if app_ids:
        for head in AppHead.batch_get([(app_id, HEAD_VERSION) for app_id in app_ids]):
            names[head.app_id] = (head.public or {}).get("name") or head.display_name or head.app_id
    return names


def _encode(key: Dict[str, Any], app_id: Optional[str]) -> str:
    return cursors.encode({"p": key["app_key"]["S"] if app_id else key["at_key"]["S"]})


def _decode(cursor: Optional[str], patient_id: str, app_id: Optional[str]) -> Optional[Dict[str, Any]]:
    """A cursor gives a position in this citizen's log only: the partition is never taken from it."""
    if cursor is None:
        return None
    try:
        position = cursors.decode(cursor).get("p")
    except cursors.InvalidCursor:
        position = None
    if not isinstance(position, str) or len(position) > 300:
        raise InvalidRequest("'cursor' is not a cursor of this list.")
    if app_id is None:
        return {"patient_id": {"S": patient_id}, "at_key": {"S": position}}
    if not position.startswith(f"{app_id}#"):
        raise InvalidRequest("'cursor' is not a cursor of this list.")
    at_key = position[len(app_id) + 1:]
    return {"patient_id": {"S": patient_id}, "at_key": {"S": at_key}, "app_key": {"S": position}}

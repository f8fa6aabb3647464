"""The Records and Audit tables behind the citizen's side of their record: every read and write
that RecordService, AccessLog and the demo seeding make. The FHIR API reaches the same items its
own way, for speed: searches through records/queries.py, the rest through fhir/gate.py (one
BatchGetItem, then one write, the audit entry with it). A write states its condition; a write
whose item is missing says so (MissingRecord), and the service decides what that means."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

from pynamodb.exceptions import UpdateError

from chalicelib.catalog.models import HEAD_VERSION, AppHead
from chalicelib.dynamodb import Key
from chalicelib.records.models import AppDayCount, AuditItem, RecordItem


class MissingRecord(Exception):
    """No such item in the citizen's record (the write's condition failed): nothing was written."""


class RecordStore:
    """The Records table, as the citizen reads and changes it."""

    def documents(self, patient_id: str) -> Iterator[RecordItem]:
        """The citizen's documents, newest first (one Query on the by-date index)."""
        return iter(RecordItem.by_date.query(patient_id, RecordItem.date_key.startswith("DocumentReference#"),
                                             scan_index_forward=False))

    def set_document_flags(self, patient_id: str, document_id: str, flags: Dict[str, bool]) -> None:
        """Set a document's `hidden` and `hidden_from_representatives` flags, if it is in the record
        (one UpdateItem)."""
        actions = [getattr(RecordItem, name).set(value) for name, value in sorted(flags.items())]
        try:
            RecordItem(patient_id, f"DocumentReference#{document_id}").update(
                actions=actions, condition=RecordItem.item_key.exists())
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise  # throttled or failed: a 503 at the edge, never a 404 for a document that is there
            raise MissingRecord() from None

    def save_all(self, items: Iterable[RecordItem]) -> int:
        """Write the items unconditionally, 25 to a BatchWriteItem (the demo records); how many."""
        written = 0
        with RecordItem.batch_write() as batch:
            for item in items:
                batch.save(item)
                written += 1
        return written


class AuditStore:
    """The Audit table as the citizen reads it (the FHIR gate writes the entries), and the names of
    the apps it mentions."""

    def page(self, patient_id: str, app_id: Optional[str], after: Optional[str],
             limit: int, actor_id: Optional[str] = None) -> Tuple[List[AuditItem], Optional[str]]:
        """At most `limit` of the citizen's entries, newest first, in one Query; `app_id` keeps one
        app's (the by-app index). `after` is where the previous page ended, as this returned it for
        the same list (an `at_key`, or an `app_key` of that app); None when nothing is left.
        `actor_id` keeps what that person did for the citizen (a filter: more Queries may be needed
        to fill the page, as many as the citizen's own accesses in between)."""
        only = AuditItem.actor_id == actor_id if actor_id is not None else None
        if app_id is None:
            start: Optional[Key] = (None if after is None
                                    else {"patient_id": {"S": patient_id}, "at_key": {"S": after}})
            query = AuditItem.query(patient_id, scan_index_forward=False, limit=limit, last_evaluated_key=start,
                                    filter_condition=only)
        else:
            start = (None if after is None
                     else {"patient_id": {"S": patient_id}, "at_key": {"S": after[len(app_id) + 1:]},
                           "app_key": {"S": after}})
            query = AuditItem.by_app.query(patient_id, AuditItem.app_key.startswith(f"{app_id}#"),
                                           scan_index_forward=False, limit=limit, last_evaluated_key=start,
                                           filter_condition=only)
        items = list(query)
        last = query.last_evaluated_key
        return items, (last["app_key" if app_id else "at_key"]["S"] if last else None)

    def app_names(self, app_ids: Iterable[str]) -> Dict[str, str]:
        """The names of these apps, from their heads in the Apps table (one BatchGetItem; none for no app)."""
        names: Dict[str, str] = {}
        keys = [(app_id, HEAD_VERSION) for app_id in app_ids]
        if keys:
            for head in AppHead.batch_get(keys):
                names[head.app_id] = (head.public or {}).get("name") or head.display_name or head.app_id
        return names


COUNT_RETENTION = timedelta(days=40)  # the évaluation looks 30 days back


class ActivityCounts:
    """Accesses per app per day (AppDayCount): added to in batches, read 30 days at a time."""

    def add(self, counts: Mapping[Tuple[str, str], int]) -> None:
        """`counts[(app_id, day)]` more accesses: one UpdateItem (ADD) per app and day, unconditional."""
        for (app_id, day), calls in sorted(counts.items()):
            expires = datetime.combine(date.fromisoformat(day), time(0), timezone.utc) + COUNT_RETENTION
            AppDayCount(f"app#{app_id}", day).update(actions=[AppDayCount.calls.add(calls),
                                                              AppDayCount.expires_at.set(expires)])

    def total(self, app_id: str, days: Iterable[str]) -> int:
        """The accesses of these days together (one BatchGetItem of at most 100 days)."""
        keys = [(f"app#{app_id}", day) for day in days]
        return sum(int(item.calls) for item in AppDayCount.batch_get(keys)) if keys else 0

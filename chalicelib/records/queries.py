"""A query on one citizen's record, and the one place it runs: one DynamoDB Query on their
partition, on the by-date or by-code index, within a key range, with every filter applied by
DynamoDB (categories, statuses, documents hidden from apps, a lower bound on the last change).
What a query means in FHIR terms is fhir/search.py's and fhir/everything.py's business; what it
costs is here: `count + 1` items read, whatever the record's size."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, List, Optional, Tuple

from chalicelib.dynamodb import Key, one_page
from chalicelib.records.models import RecordItem, RecordRow


@dataclass
class RecordQuery:
    resource_type: str
    index: str  # "by-date" | "by-code"
    low: str
    high: str
    count: int
    categories: Optional[List[str]] = None  # None: any; []: none can match
    statuses: Optional[List[str]] = None
    visible_only: bool = False  # leave out the documents the citizen hid from apps
    hide_from_representatives: bool = False  # and those a minor hid from their representatives
    # only the items changed at or after this instant: a filter (no index key holds the change's time)
    updated_since: Optional[datetime] = None

    @property
    def index_key(self) -> str:
        return "code_key" if self.index == "by-code" else "date_key"

    @property
    def can_match(self) -> bool:
        """False when nothing can match (no category left, an empty range): no read at all."""
        return (self.categories is None or bool(self.categories)) and self.low <= self.high

    def fits(self, key: str) -> bool:
        return self.low <= key <= self.high


def run_page(patient_id: str, query: RecordQuery, start: Optional[Key]) -> Tuple[List[RecordRow], Optional[Key]]:
    """One page, newest first: at most `count` rows, and the key to resume after them (None at the end)."""
    index = RecordItem.by_code if query.index == "by-code" else RecordItem.by_date
    attribute = RecordItem.code_key if query.index == "by-code" else RecordItem.date_key
    condition: Any = None
    if query.categories is not None:
        condition = RecordItem.category.is_in(*query.categories)
    if query.statuses:
        status = RecordItem.status.is_in(*query.statuses)
        condition = status if condition is None else condition & status
    if query.visible_only:
        visible = RecordItem.hidden.does_not_exist() | (RecordItem.hidden == False)  # noqa: E712
        condition = visible if condition is None else condition & visible
    if query.hide_from_representatives:
        shown = (RecordItem.hidden_from_representatives.does_not_exist()
                 | (RecordItem.hidden_from_representatives == False))  # noqa: E712
        condition = shown if condition is None else condition & shown
    if query.updated_since is not None:
        # UTCDateTimeAttribute writes every instant in UTC, fixed width ('2026-11-20T09:00:00.000000+0000',
        # zero-padded): the strings compare as the instants do, and the bound is written the same way.
        since = RecordItem.last_updated >= query.updated_since
        condition = since if condition is None else condition & since
    results = index.query(patient_id, attribute.between(query.low, query.high), filter_condition=condition,
                          scan_index_forward=False, page_size=query.count + 1, last_evaluated_key=start)
    rows, last_key, _ = one_page(RecordRow.from_raw, results, query.count, ("item_key", query.index_key))
    return rows, last_key

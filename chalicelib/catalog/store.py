"""The Apps and Catalog tables behind the catalogue's rules: every read and write that
CatalogService makes (a page of the catalogue, an app's head, a publication, a bulk import). The
referencing workflow writes the same items in its own commit (referencing/workflow.py), and the
FHIR gate reads the apps' status items its own way (fhir/gate.py). What a page holds and how long a
container keeps it are the service's rules; this module only runs the calls."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from chalicelib.catalog.models import HEAD_VERSION, AppHead, AppItem, CatalogEntry, ListingVersion
from chalicelib.catalog.query import QueryPlan
from chalicelib.dynamodb import one_page, transaction_connection

# A publication as written in bulk: the listing version, the app's head (with its status item), the
# catalogue entries of every facet the app is in.
PublishedItems = Tuple[ListingVersion, AppHead, List[CatalogEntry]]


@dataclass(frozen=True)
class EntryPage:
    """What one Query on the catalogue returned: at most `limit` entries, the key to resume after
    them (None at the end), and how many entries DynamoDB read (ScannedCount)."""

    entries: List[CatalogEntry]
    next_key: Optional[Dict[str, str]]
    scanned: int


class CatalogStore:
    """The catalogue's items, as the catalogue's rules read and publish them."""

    @staticmethod
    def key_names(plan: QueryPlan) -> Tuple[str, ...]:
        """The attributes of a key where a page of this plan's index ends (and the next one starts)."""
        return "facet", "app_id", "name_key" if plan.index == "by_name" else "eco_key"

    def head(self, app_id: str) -> Optional[AppHead]:
        """The app's head (one GetItem, eventually consistent), or None when there is no such app."""
        try:
            return AppHead.get(app_id, HEAD_VERSION)
        except DoesNotExist:
            return None

    def page(self, plan: QueryPlan, after: Optional[Mapping[str, str]], limit: int, now: datetime) -> EntryPage:
        """Exactly one Query on the plan's index partition, from `after` (a key this returned for the
        same plan), reading `plan.page_size(limit)` entries; every residual filter, and the entries
        that lapsed at `now` (before DynamoDB's TTL sweeps them), applied by DynamoDB."""
        key_names = self.key_names(plan)
        start_key = None if after is None else {name: {"S": value} for name, value in after.items()}
        range_condition = (CatalogEntry.eco_key < plan.eco_key_below) if plan.eco_key_below else None
        results = getattr(CatalogEntry, plan.index).query(
            plan.facet, range_key_condition=range_condition, filter_condition=self._filter(plan.residual, now),
            page_size=plan.page_size(limit), last_evaluated_key=start_key)
        entries, next_key, page = one_page(CatalogEntry.from_raw_data, results, limit, key_names)
        return EntryPage(entries, {name: next_key[name]["S"] for name in key_names} if next_key else None,
                         int(page.get("ScannedCount", 0)))

    @staticmethod
    def _filter(residual: Mapping[str, Any], now: datetime):  # -> pynamodb Condition
        condition = CatalogEntry.expires_at > now
        if "category" in residual:
            condition &= CatalogEntry.category == residual["category"]
        if "data" in residual:
            condition &= CatalogEntry.data_kinds.contains(residual["data"])
        if "min_score" in residual:
            condition &= CatalogEntry.score >= residual["min_score"]
        for term in residual.get("terms", ()):
            condition &= CatalogEntry.search_text.contains(term)
        return condition

    def publish(self, version: ListingVersion, head: AppHead, entries: Iterable[CatalogEntry],
                stale: Iterable[CatalogEntry]) -> None:
        """In one transaction (unconditional): the listing version, the head and its status item,
        the catalogue entries, and the deletion of the `stale` ones (facets the app left). So the
        catalogue never shows half a publication; a throttled or failed write leaves nothing."""
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.save(version)
            transaction.save(head)
            transaction.save(head.status_item())
            for entry in entries:
                transaction.save(entry)
            for entry in stale:
                transaction.delete(entry)

    def import_all(self, publications: Iterable[PublishedItems]) -> int:
        """Write each publication unconditionally, 25 items to a BatchWriteItem per table, as the
        iterable yields them (into empty tables: nothing is deleted); how many were written."""
        count = 0
        with AppItem.batch_write() as apps, CatalogEntry.batch_write() as index:
            for version, head, entries in publications:
                apps.save(version)
                apps.save(head)
                apps.save(head.status_item())
                for entry in entries:
                    index.save(entry)
                count += 1
        return count

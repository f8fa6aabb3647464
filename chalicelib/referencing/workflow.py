"""What both sides of the referencing workflow share: loading an app, history, atomic commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.catalog.models import (HEAD_VERSION, STATUS_VERSION, AppEvent, AppHead, AppItem, CatalogEntry,
                                       ListingVersion)
from chalicelib.dynamodb import transaction_connection
from chalicelib.ids import is_app_id
from chalicelib.errors import Conflict, NotFound, PreconditionFailed
from chalicelib.identity.service import Principal


def etag_of(version: ListingVersion) -> str:
    return f'"{version.version}.{version.revision}"'


def check_if_match(version: ListingVersion, if_match: Optional[str]) -> None:
    """Optimistic concurrency: the caller must show the ETag of what it last read."""
    if if_match is None:
        raise PreconditionFailed("Send If-Match with the ETag of the version you read (GET it first).",
                                 [{"header": "If-Match", "message": "required"}])
    candidates = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    if "*" not in candidates and etag_of(version) not in candidates:
        raise PreconditionFailed("The version changed since you read it; GET it again and re-apply.",
                                 [{"header": "If-Match", "current": etag_of(version)}])


@dataclass
class AppRecord:
    """An app's head and its versions, newest first, as one Query returned them."""

    head: AppHead
    versions: List[ListingVersion]

    def version(self, number: int) -> ListingVersion:
        for version in self.versions:
            if version.version == number:
                return version
        raise NotFound(f"App '{self.head.app_id}' has no version {number}.")

    @property
    def latest(self) -> ListingVersion:
        return self.versions[0]


def load_app(app_id: str) -> AppRecord:
    """One Query over the app's head and versions (not its status item or its history)."""
    if not is_app_id(app_id):
        raise NotFound(f"No app '{app_id[:100]}'.")
    head, versions = None, []
    for item in AppItem.query(app_id, AppItem.version >= HEAD_VERSION, scan_index_forward=False):
        if isinstance(item, AppHead):
            head = item
        elif isinstance(item, ListingVersion):
            versions.append(item)
    if head is None or not versions:
        raise NotFound(f"No app '{app_id}'.")
    return AppRecord(head, versions)


def load_head(app_id: str) -> AppHead:
    if not is_app_id(app_id):
        raise NotFound(f"No app '{app_id[:100]}'.")
    try:
        return AppHead.get(app_id, HEAD_VERSION)
    except DoesNotExist:
        raise NotFound(f"No app '{app_id}'.") from None


@dataclass(frozen=True)
class Change:
    """Who did what, and why: the history entry that a commit writes with the change."""

    principal: Principal
    action: str
    details: Dict[str, Any]


def change(principal: Principal, action: str, **details: Any) -> Change:
    return Change(principal, action, details)


def commit(head: AppHead, now: datetime, what: Change, versions: Iterable[ListingVersion] = (),
           entries: Iterable[CatalogEntry] = (), stale: Iterable[CatalogEntry] = (),
           new_app: bool = False) -> None:
    """Write the head (with its status item), the versions, the catalogue entries and the history
    entry together, or nothing.

    Each item is written only if nobody changed it since it was read (revision check), so two
    reviewers deciding at once cannot both win. The history entry is an item of its own, keyed by
    the head's new revision: the head does not grow with its history."""
    expected_head = head.revision
    head.revision = expected_head + 1
    head.updated_at = now
    event = AppEvent(head.app_id, AppEvent.key_of(int(head.revision)), at=now, action=what.action,
                     actor=what.principal.as_actor(), details=what.details or None)
    try:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.save(head, condition=(AppHead.app_id.does_not_exist() if new_app
                                              else AppHead.revision == expected_head))
            transaction.save(head.status_item())
            transaction.save(event, condition=AppEvent.app_id.does_not_exist())
            for version in versions:
                version.updated_at = now
                condition: Condition
                if version.is_new:
                    condition = ListingVersion.app_id.does_not_exist()
                elif version.read_revision is not None:
                    condition = ListingVersion.revision == version.read_revision
                else:
                    raise ValueError(f"version {version.version} was neither made nor bumped")
                transaction.save(version, condition=condition)
            for entry in entries:
                transaction.save(entry)
            for entry in stale:
                transaction.delete(entry)
    except TransactWriteError as error:
        head.revision = expected_head
        if error.cause_response_code == "TransactionCanceledException":
            raise Conflict("Someone changed this app at the same time; read it again and retry.") from None
        raise


def bump(version: ListingVersion) -> ListingVersion:
    """Mark a version read from the table as changed: its revision (ETag) moves on, and the
    commit checks that the stored one is still the one read."""
    if version.read_revision is None:
        version.read_revision = int(version.revision)
        version.revision = version.read_revision + 1
    return version


def new_version(app_id: str, number: int, document: Dict[str, Any], now: datetime) -> ListingVersion:
    version = ListingVersion(app_id, number, state="draft", document=document, revision=1,
                             created_at=now, updated_at=now)
    version.is_new = True
    return version


HISTORY_PAGE = 100


def history_view(app_id: str, limit: int = HISTORY_PAGE) -> List[Dict[str, Any]]:
    """The app's latest `limit` history entries, oldest first: one Query, whatever the length of
    the whole history."""
    latest = AppEvent.query(app_id, AppEvent.version < STATUS_VERSION, limit=limit, page_size=limit)
    return [event.view() for event in latest][::-1]

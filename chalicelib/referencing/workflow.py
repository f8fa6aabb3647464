"""What both sides of the referencing workflow share: loading an app, history, atomic commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Optional

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.catalog.models import (HEAD_VERSION, AppHead, AppItem, CatalogEntry, ListingVersion,
                                       is_app_id, transaction_connection)
from chalicelib.errors import Conflict, NotFound, PreconditionFailed
from chalicelib.identity.service import Principal

Clock = Callable[[], datetime]


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
    """One Query over the app's partition: its head and every version."""
    if not is_app_id(app_id):
        raise NotFound(f"No app '{app_id[:100]}'.")
    head, versions = None, []
    for item in AppItem.query(app_id, scan_index_forward=False):
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


def record(head: AppHead, principal: Principal, action: str, now: datetime, **details: Any) -> None:
    """Append who did what, when and why to the app's history."""
    head.history = [*(head.history or []), {"at": now.isoformat(), "action": action,
                                            "actor": principal.as_actor(), **details}]


def commit(head: AppHead, now: datetime, versions: Iterable[ListingVersion] = (),
           entries: Iterable[CatalogEntry] = (), stale: Iterable[CatalogEntry] = (),
           new_app: bool = False) -> None:
    """Write the head, the versions and catalogue entries together, or nothing.

    Each item is written only if nobody changed it since it was read (revision check), so two
    reviewers deciding at once cannot both win."""
    expected_head = head.revision
    head.revision = expected_head + 1
    head.updated_at = now
    try:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.save(head, condition=(AppHead.app_id.does_not_exist() if new_app
                                              else AppHead.revision == expected_head))
            for version in versions:
                version.updated_at = now
                condition = (ListingVersion.app_id.does_not_exist() if getattr(version, "_is_new", False)
                             else ListingVersion.revision == version._read_revision)
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
    if not hasattr(version, "_read_revision"):
        version._read_revision = version.revision
        version.revision = version.revision + 1
    return version


def new_version(app_id: str, number: int, document: Dict[str, Any], now: datetime) -> ListingVersion:
    version = ListingVersion(app_id, number, state="draft", document=document, revision=1,
                             created_at=now, updated_at=now)
    version._is_new = True
    return version


def history_view(head: AppHead) -> List[Dict[str, Any]]:
    return list(head.history or [])

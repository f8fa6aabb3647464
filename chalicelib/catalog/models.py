"""PynamoDB models of the Apps table and of the catalogue index, and the queries they serve."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Optional

from pynamodb.attributes import (DiscriminatorAttribute, JSONAttribute, ListAttribute,
                                 NumberAttribute, TTLAttribute, UnicodeAttribute, UnicodeSetAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import settings
from chalicelib.dynamodb import TableMeta

# The sort keys of an app's partition (Apps table): its head at 0, its listing versions at 1..n,
# the small status item the FHIR gate reads on every call at -1, and one history event per change
# of the head below that (-1 - the head's revision), so that a Query of `version < -1` reads the
# history newest first and a Query of `version >= 0` reads the head and versions, whatever the
# length of the history.
HEAD_VERSION = 0
STATUS_VERSION = -1
class ByPublisher(GlobalSecondaryIndex):
    """An organisation's apps: only head items carry publisher_siret, so the index is sparse."""

    class Meta:
        index_name = "by-publisher"
        projection = AllProjection()

    publisher_siret = UnicodeAttribute(hash_key=True)
    app_id = UnicodeAttribute(range_key=True)


class ReviewQueue(GlobalSecondaryIndex):
    """Versions awaiting review, oldest first: only submitted versions carry review_queue."""

    class Meta:
        index_name = "review-queue"
        projection = AllProjection()

    review_queue = UnicodeAttribute(hash_key=True)
    submitted_at = UnicodeAttribute(range_key=True)


class AppItem(Model):
    """Apps table: one partition per app; version 0 is the app's head, 1..n its listing versions."""

    class Meta(TableMeta):
        table_name = settings.apps_table

    app_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    kind = DiscriminatorAttribute()

    by_publisher = ByPublisher()
    review_queue_index = ReviewQueue()


def hash_client_secret(secret: str) -> str:
    """How a confidential client's secret is kept on its head (`client_secret_hash`). A 256-bit
    random secret needs no slow KDF: a brute force of SHA-256 over it is hopeless."""
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


class AppHead(AppItem, discriminator="head"):
    """Where an app stands now. Holds the public view of its live version, so that an app's
    public page and the checks made on every authorization read one item. Every write of the head
    writes its status item (AppStatus) with it, and its history goes to AppEvent items."""

    status = UnicodeAttribute()  # unlisted | published | suspended | withdrawn
    revision = NumberAttribute(default=0)  # optimistic lock: every change of the head bumps it
    live_version = NumberAttribute(null=True)
    latest_version = NumberAttribute(default=1)
    latest_state = UnicodeAttribute(default="draft")
    display_name = UnicodeAttribute(default="")
    publisher_siret = UnicodeAttribute()
    client_id = UnicodeAttribute()
    client_secret_hash = UnicodeAttribute(null=True)  # confidential clients with a secret
    client = JSONAttribute(null=True)  # the live version's client section (type, jwks or jwks_uri)
    redirect_uris = ListAttribute(of=UnicodeAttribute, null=True)  # of the live version, exact strings
    # Where the live version may receive FHIR subscription notifications (chalicelib/notify/): read
    # when a subscription is created, so on the head, not on the status item the FHIR gate reads.
    notification_endpoints = ListAttribute(of=UnicodeAttribute, null=True)
    approved_scopes = UnicodeSetAttribute(null=True)
    referenced_from = UTCDateTimeAttribute(null=True)
    referenced_until = UTCDateTimeAttribute(null=True)
    # Moved on at each suspension; tokens carry the epoch they were issued in, so that those issued
    # before a suspension stay refused after the reinstatement (it may have answered a leak).
    token_epoch = NumberAttribute(null=True)
    quota = JSONAttribute(null=True)  # {"rate", "burst"} the commission decided; None: the default
    public = JSONAttribute(null=True)  # the public listing of the live version
    facets = UnicodeSetAttribute(null=True)  # catalogue index partitions it appears in
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    @classmethod
    def new(cls, app_id: str, publisher_siret: str, now: datetime) -> "AppHead":
        return cls(app_id, HEAD_VERSION, status="unlisted", publisher_siret=publisher_siret,
                   client_id=app_id, created_at=now, updated_at=now)

    def lapsed(self, now: datetime) -> bool:
        return self.referenced_until is not None and self.referenced_until <= now

    @property
    def epoch(self) -> int:
        """The token epoch: 0 until the app's first suspension."""
        return int(self.token_epoch or 0)

    def status_item(self) -> "AppStatus":
        """The status item to write with this head (the same transaction or batch)."""
        return AppStatus(self.app_id, STATUS_VERSION, status=self.status, referenced_until=self.referenced_until,
                         token_epoch=self.token_epoch, quota=self.quota, client=self.client,
                         redirect_uris=self.redirect_uris, client_secret_hash=self.client_secret_hash,
                         approved_scopes=self.approved_scopes)


class AppStatus(AppItem, discriminator="status"):
    """What the FHIR gate and the OAuth steps need of an app, and nothing else: about 1 KB (the
    head is 14), read strongly consistently by the gate with the consent in one BatchGetItem, and
    by every OAuth step as its client; never written by either
    (docs/decisions/0010-hot-path-without-shared-items.md). Written with the head, from it."""

    status = UnicodeAttribute()
    referenced_until = UTCDateTimeAttribute(null=True)
    token_epoch = NumberAttribute(null=True)  # as on the head
    quota = JSONAttribute(null=True)  # as on the head: read here by the FHIR gate for free
    # The live version's client registration, as on the head (absent on items written before it
    # was copied here: the OAuth steps then read the head, chalicelib/oauth/server.py).
    client = JSONAttribute(null=True)
    redirect_uris = ListAttribute(of=UnicodeAttribute, null=True)
    client_secret_hash = UnicodeAttribute(null=True)
    approved_scopes = UnicodeSetAttribute(null=True)

    @property
    def epoch(self) -> int:
        """The token epoch: 0 until the app's first suspension."""
        return int(self.token_epoch or 0)

    def lapsed(self, now: datetime) -> bool:
        return self.referenced_until is not None and self.referenced_until <= now

    def refuses(self, epoch: int, now: datetime) -> bool:
        """Whether a token issued in token epoch `epoch` is refused now (suspended, withdrawn,
        lapsed, or suspended since the token was issued)."""
        return (self.status != "published" or (self.referenced_until is not None and self.referenced_until <= now)
                or int(self.token_epoch or 0) != epoch)


class AppEvent(AppItem, discriminator="event"):
    """One entry of an app's history (who changed what, when and why), shown to the publisher and
    the commission; at version -1 - the head's revision after the change."""

    at = UTCDateTimeAttribute()
    action = UnicodeAttribute()
    actor = JSONAttribute()
    details = JSONAttribute(null=True)

    @classmethod
    def key_of(cls, revision: int) -> int:
        return STATUS_VERSION - revision

    def view(self) -> dict:
        return {"at": self.at.isoformat(), "action": self.action, "actor": self.actor, **(self.details or {})}


class ListingVersion(AppItem, discriminator="listing"):
    """One version of a listing as the publisher filed it, with where its review stands."""

    state = UnicodeAttribute()  # see chalicelib/referencing/lifecycle.py
    revision = NumberAttribute(default=1)  # the ETag: every change of the version bumps it
    document = JSONAttribute()
    prechecks = JSONAttribute(null=True)  # the automated pre-check report at submission
    decision = JSONAttribute(null=True)  # the commission's decision, with per-criterion results
    # Evidence files by criterion id, each {key, sha256, bytes, media_type, uploaded_at}: written by
    # the referencing portal's uploads only (chalicelib/referencing/evidence.py), never by the document.
    attachments = JSONAttribute(null=True)
    review_queue = UnicodeAttribute(null=True)  # "submitted" while awaiting review, else absent
    submitted_at = UnicodeAttribute(null=True)  # ISO 8601, sorts oldest first
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # In memory only, never stored: what the referencing workflow's commit checks
    # (referencing/workflow.py). A new version must not exist yet; a changed one must still have
    # the revision it was read with.
    is_new: bool = False
    read_revision: Optional[int] = None


class ByName(LocalSecondaryIndex):
    class Meta:
        index_name = "by-name"
        projection = AllProjection()

    facet = UnicodeAttribute(hash_key=True)
    name_key = UnicodeAttribute(range_key=True)


class ByEcoscore(LocalSecondaryIndex):
    class Meta:
        index_name = "by-ecoscore"
        projection = AllProjection()

    facet = UnicodeAttribute(hash_key=True)
    eco_key = UnicodeAttribute(range_key=True)


class CatalogEntry(Model):
    """Catalogue index: a card of each published app, once per facet it can be filtered by
    ('all', 'category#…', 'data#…', 'min#…'), so that a filtered, sorted page is one Query."""

    class Meta(TableMeta):
        table_name = settings.catalog_table

    facet = UnicodeAttribute(hash_key=True)
    app_id = UnicodeAttribute(range_key=True)
    name_key = UnicodeAttribute()
    eco_key = UnicodeAttribute()
    category = UnicodeAttribute()
    data_kinds = UnicodeSetAttribute(null=True)
    score = NumberAttribute()
    search_text = UnicodeAttribute()
    card = JSONAttribute()
    expires_at = TTLAttribute()  # end of the referencing period: DynamoDB drops lapsed entries

    by_name = ByName()
    by_ecoscore = ByEcoscore()


ALL_MODELS = (AppItem, CatalogEntry)


"""PynamoDB models of the Apps table and of the catalogue index, and the queries they serve."""
from __future__ import annotations

from functools import lru_cache

from pynamodb.attributes import (DiscriminatorAttribute, JSONAttribute, NumberAttribute,
                                 TTLAttribute, UnicodeAttribute, UnicodeSetAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.connection import Connection
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import settings

HEAD_VERSION = 0  # the version number under which an app's head item lives


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

    class Meta:
        table_name = settings.apps_table
        region = settings.region
        host = settings.dynamodb_endpoint
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    app_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    kind = DiscriminatorAttribute()

    by_publisher = ByPublisher()
    review_queue_index = ReviewQueue()


class AppHead(AppItem, discriminator="head"):
    """Where an app stands now. Holds the public view of its live version, so that an app's
    public page and the checks made on every authorization read one item."""

    status = UnicodeAttribute()  # unlisted | published | suspended | withdrawn
    live_version = NumberAttribute(null=True)
    publisher_siret = UnicodeAttribute()
    client_id = UnicodeAttribute()
    approved_scopes = UnicodeSetAttribute(null=True)
    referenced_from = UTCDateTimeAttribute(null=True)
    referenced_until = UTCDateTimeAttribute(null=True)
    public = JSONAttribute(null=True)  # the public listing of the live version
    facets = UnicodeSetAttribute(null=True)  # catalogue index partitions it appears in
    updated_at = UTCDateTimeAttribute()


class ListingVersion(AppItem, discriminator="listing"):
    """One version of a listing as the publisher filed it, with where its review stands."""

    state = UnicodeAttribute()  # draft | submitted | changes_requested | published | rejected ...
    document = JSONAttribute()
    review = JSONAttribute(null=True)
    review_queue = UnicodeAttribute(null=True)  # "submitted" while awaiting review, else absent
    submitted_at = UnicodeAttribute(null=True)  # ISO 8601, sorts oldest first
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


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

    class Meta:
        table_name = settings.catalog_table
        region = settings.region
        host = settings.dynamodb_endpoint
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

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


@lru_cache(maxsize=1)
def transaction_connection() -> Connection:
    """The connection TransactWrite uses; created once, reused across warm invocations."""
    return Connection(region=settings.region, host=settings.dynamodb_endpoint)

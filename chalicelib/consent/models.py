"""PynamoDB models of the Consents table: one consent per (citizen, app), and its history."""
from __future__ import annotations

from pynamodb.attributes import (DiscriminatorAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import settings
from chalicelib.dynamodb import TableMeta


class ActiveByApp(GlobalSecondaryIndex):
    """Active consents of an app (for cascades): only active consents carry active_app_id."""

    class Meta:
        index_name = "active-by-app"
        projection = AllProjection()

    active_app_id = UnicodeAttribute(hash_key=True)
    patient_id = UnicodeAttribute(range_key=True)


class ByPairwiseId(GlobalSecondaryIndex):
    """From the patient id an app sees back to the consent (introspection; not the FHIR hot path)."""

    class Meta:
        index_name = "by-pairwise-id"
        projection = AllProjection()

    pairwise_id = UnicodeAttribute(hash_key=True)


class ConsentItem(Model):
    """Consents table: one partition per citizen; `app_id` is a consent, `app_id#time` an event."""

    class Meta(TableMeta):
        table_name = settings.consents_table

    patient_id = UnicodeAttribute(hash_key=True)  # the citizen's internal id, never shown to apps
    item_key = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()

    active_by_app = ActiveByApp()
    by_pairwise_id = ByPairwiseId()


class Consent(ConsentItem, discriminator="consent"):
    app_id = UnicodeAttribute()
    status = UnicodeAttribute()  # active | revoked | expired
    active_app_id = UnicodeAttribute(null=True)
    scopes = JSONAttribute()  # granted data scopes (SMART v2) and context scopes
    pairwise_id = UnicodeAttribute()  # the patient id this app sees: random, stable, app-specific
    generation = NumberAttribute(default=1)  # a new grant, a revocation or a replayed code moves it on
    granted_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)
    receipt = JSONAttribute()  # what was granted, to whom, for which purpose, from when, until when


class ConsentEvent(ConsentItem, discriminator="event"):
    app_id = UnicodeAttribute()
    action = UnicodeAttribute()  # granted | revoked
    at = UTCDateTimeAttribute()
    detail = JSONAttribute(null=True)


ALL_MODELS = (ConsentItem,)

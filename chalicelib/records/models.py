"""PynamoDB models of the citizen's record (Records table) and of who accessed it (Audit table).

Both are partitioned by the citizen's internal id, so that every search is a Query on one
partition and costs what one page costs, whatever the size of the record."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Optional

from pynamodb.attributes import (BooleanAttribute, JSONAttribute, NumberAttribute, TTLAttribute,
                                 UnicodeAttribute, UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import settings
from chalicelib.dynamodb import TableMeta


class ByDate(LocalSecondaryIndex):
    """A resource type's entries by date: `Observation#2026-11-02T08:00:00Z#<id>`."""

    class Meta:
        index_name = "by-date"
        projection = AllProjection()

    patient_id = UnicodeAttribute(hash_key=True)
    date_key = UnicodeAttribute(range_key=True)


class ByCode(LocalSecondaryIndex):
    """A resource type's entries by code, then date: `Observation#29463-7#2026-11-02T08:00:00Z#<id>`."""

    class Meta:
        index_name = "by-code"
        projection = AllProjection()

    patient_id = UnicodeAttribute(hash_key=True)
    code_key = UnicodeAttribute(range_key=True)


class RecordItem(Model):
    """One FHIR resource of a citizen's record: `DocumentReference#<id>`, `Patient#self`..."""

    class Meta(TableMeta):
        table_name = settings.records_table
        stream_view_type = "NEW_AND_OLD_IMAGES"  # feeds the notifications (chalicelib/notify/events.py)

    patient_id = UnicodeAttribute(hash_key=True)  # internal id: apps never see it
    item_key = UnicodeAttribute(range_key=True)
    resource_type = UnicodeAttribute()
    resource = JSONAttribute()  # the resource as stored: no id, meta or patient reference
    version = NumberAttribute(default=1)
    last_updated = UTCDateTimeAttribute()
    source_app = UnicodeAttribute(null=True)  # the app that wrote it; absent for the DMP's own
    date_key = UnicodeAttribute(null=True)
    code_key = UnicodeAttribute(null=True)
    category = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    hidden = BooleanAttribute(null=True)  # a document the citizen hid from every app
    # a document a minor hid from their legal representatives, and from the apps they authorised
    hidden_from_representatives = BooleanAttribute(null=True)
    content_key = UnicodeAttribute(null=True)  # S3 key of a document's content too large to inline

    by_date = ByDate()
    by_code = ByCode()

    @classmethod
    def of(cls, patient_id: str, resource_type: str, resource_id: str, indexed, source_app: Optional[str],
           now: datetime, version: int = 1) -> "RecordItem":
        """The item of a checked resource (records/resources.py Indexed), with its index keys."""
        tail = f"{indexed.date}#{resource_id}"
        return cls(patient_id, f"{resource_type}#{resource_id}", resource_type=resource_type,
                   resource=indexed.resource, version=version, last_updated=now, source_app=source_app,
                   date_key=f"{resource_type}#{tail}",
                   code_key=f"{resource_type}#{indexed.code}#{tail}" if indexed.code else None,
                   category=indexed.category, status=indexed.status)


@dataclass(frozen=True)
class RecordRow:
    """A record item as a page of search shows it: read-only, made from DynamoDB's raw item without
    PynamoDB's per-attribute machinery (about 6 µs an item instead of 25, and plain attribute reads:
    twenty of them were most of a search's own time). RecordItem stays the model for everything
    else; the same names, so that the FHIR service shows either."""

    item_key: str
    resource: str  # the resource's JSON text as stored: parsed once, when it is shown
    version: int
    last_updated: datetime
    source_app: Optional[str]
    content_key: Optional[str]
    category: Optional[str]
    hidden: Optional[bool]
    hidden_from_representatives: Optional[bool] = None

    @classmethod
    def from_raw(cls, raw: Dict[str, Dict[str, Any]]) -> "RecordRow":
        def text(name: str) -> Optional[str]:
            value = raw.get(name)
            return value.get("S") if value else None
        return cls(raw["item_key"]["S"], raw["resource"]["S"], int(raw["version"]["N"]),
                   _DATES.deserialize(raw["last_updated"]["S"]), text("source_app"), text("content_key"),
                   text("category"), (raw.get("hidden") or {}).get("BOOL"),
                   (raw.get("hidden_from_representatives") or {}).get("BOOL"))


_DATES = UTCDateTimeAttribute()


class ByApp(LocalSecondaryIndex):
    class Meta:
        index_name = "by-app"
        projection = AllProjection()

    patient_id = UnicodeAttribute(hash_key=True)
    app_key = UnicodeAttribute(range_key=True)


class AuditItem(Model):
    """One access by an app to a citizen's record, allowed or refused: `at_key` sorts by time."""

    class Meta(TableMeta):
        table_name = settings.audit_table
        stream_view_type = "NEW_IMAGE"  # feeds citizens' access alerts (chalicelib/notify/events.py)

    patient_id = UnicodeAttribute(hash_key=True)
    at_key = UnicodeAttribute(range_key=True)  # `<ISO time>#<random>`
    app_key = UnicodeAttribute()  # `<app_id>#<ISO time>#<random>`
    app_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    interaction = UnicodeAttribute()  # read | search | everything | create | update | delete | transaction
    # Someone who acted for the citizen through the app (their legal representative): who, and as what.
    actor_id = UnicodeAttribute(null=True)
    acting_as = UnicodeAttribute(null=True)
    resource_type = UnicodeAttribute()
    resource_id = UnicodeAttribute(null=True)
    # resources returned or written; stored as `count`, named so as not to hide Model.count()
    resources = NumberAttribute(default=0, attr_name="count")
    outcome = UnicodeAttribute()  # allowed | refused
    reason = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()  # retention: DynamoDB removes the entry then

    by_app = ByApp()


class AppDayCount(Model):
    """How many accesses an app made on one day, all citizens together: the access log counted as it
    is written (from the Audit table's stream, chalicelib/notify/events.py), for the commission's
    évaluation. In the Audit table under the app's own partition, `app#<app_id>`, which no citizen's
    partition can be (internal ids have no '#'); never a citizen in it."""

    class Meta(TableMeta):
        table_name = settings.audit_table

    patient_id = UnicodeAttribute(hash_key=True)  # `app#<app_id>`
    at_key = UnicodeAttribute(range_key=True)  # the day, `YYYY-MM-DD` (UTC)
    calls = NumberAttribute(default=0)
    expires_at = TTLAttribute()


ALL_MODELS = (RecordItem, AuditItem)

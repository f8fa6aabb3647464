"""The export job: one item per citizen in the Records table, beside their record.

`Export#latest` sits in the citizen's partition (no index key: the FHIR API's indexes never see
it, and no FHIR read can name it). A new request replaces it; the archive it names is kept in S3 a
day (the bucket's lifecycle rule removes `exports/` after two)."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.config import settings
from chalicelib.dynamodb import TableMeta

JOB_KEY = "Export#latest"


class ExportJob(Model):
    class Meta(TableMeta):
        table_name = settings.records_table

    patient_id = UnicodeAttribute(hash_key=True)
    item_key = UnicodeAttribute(range_key=True, default=JOB_KEY)
    job_id = UnicodeAttribute()
    state = UnicodeAttribute()  # queued | running | ready | failed
    requested_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()  # the worker's last sign of life
    resources = NumberAttribute(default=0)  # resources written into the archive so far
    archive_key = UnicodeAttribute(null=True)  # S3 key, random: pre-signed URLs show it
    archive_bytes = NumberAttribute(null=True)
    ready_until = UTCDateTimeAttribute(null=True)  # the archive's link may be asked until then

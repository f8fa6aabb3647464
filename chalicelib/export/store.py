"""What the export reads and writes in DynamoDB: its job item (one per citizen) and the whole of
a citizen's record, type by type. The archive itself goes to the documents bucket
(records/documents.py); consents and the access history come through their own domains' stores."""
from __future__ import annotations

from typing import Iterator, Optional

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.export.models import JOB_KEY, ExportJob
from chalicelib.records.models import RecordItem


class JobChanged(Exception):
    """The job item is no longer the one the caller read (a newer request replaced it): nothing written."""


class ExportStore:
    def job(self, patient_id: str) -> Optional[ExportJob]:
        """The citizen's latest job (strongly consistent: the page shows what the worker wrote)."""
        try:
            return ExportJob.get(patient_id, JOB_KEY, consistent_read=True)
        except DoesNotExist:
            return None

    def start(self, job: ExportJob, replaces: Optional[str]) -> None:
        """Write a new job in place of the job `replaces` (None: in place of none). JobChanged when
        another request got there first."""
        condition = (ExportJob.item_key.does_not_exist() if replaces is None
                     else ExportJob.job_id == replaces)
        try:
            job.save(condition=condition)
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            raise JobChanged() from None

    def update(self, patient_id: str, job_id: str, **values: object) -> None:
        """Set these attributes of the job `job_id` (its state, progress...), if it is still the latest."""
        actions = [getattr(ExportJob, name).set(value) for name, value in values.items()]
        try:
            ExportJob(patient_id, JOB_KEY).update(actions=actions, condition=ExportJob.job_id == job_id)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            raise JobChanged() from None

    def resources(self, patient_id: str, resource_type: str) -> Iterator[RecordItem]:
        """Every resource of one type in the citizen's record, by id: Queries on their partition of
        the base table, eventually consistent (half the read units), each page as large as DynamoDB
        gives (1 MB: about 1,600 measures), so that a record costs as few round trips as it can."""
        return iter(RecordItem.query(patient_id, RecordItem.item_key.startswith(f"{resource_type}#")))

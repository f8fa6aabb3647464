"""The citizen's own copy of their record: asked for, built asynchronously, downloaded.

One job per citizen at a time (decision 0014). Asking again while a job runs returns that job;
asking once one is ready replaces it (and deletes its archive). The worker writes the archive
into a zip on disk a resource at a time, puts it in the documents bucket under a random key, and
says how far it got every 500 resources, so that the page can show progress."""
from __future__ import annotations

import base64
import os
import secrets
import tempfile
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, Optional
from zoneinfo import ZoneInfo

from chalicelib.clock import Clock
from chalicelib.consent.proxies import ProxyService
from chalicelib.consent.service import ConsentService
from chalicelib.errors import Conflict, NotFound, ServiceUnavailable
from chalicelib.export.archive import BUNDLE, CONSENTS, HISTORY, Archive, counted, readmes
from chalicelib.export.models import ExportJob
from chalicelib.export.runner import Event, RunnerUnavailable
from chalicelib.export.store import ExportStore, JobChanged
from chalicelib.observability import logger
from chalicelib.records.documents import DocumentStore
from chalicelib.records.models import RecordItem
from chalicelib.records.resources import Codec
from chalicelib.records.store import AuditStore

# A worker runs 15 minutes at most (the Lambda's timeout); a job silent longer than this died.
STALE_AFTER = timedelta(minutes=16)
KEEP_ARCHIVE = timedelta(days=1)  # the bucket's lifecycle rule removes `exports/` after two
LINK_SECONDS = 120  # a download link: the browser follows it at once
PROGRESS_EVERY = 500
_RECORD_TYPES = ("DocumentReference", "Observation", "Appointment")
_HISTORY_PAGE = 500
_PARIS = ZoneInfo("Europe/Paris")


class ExportService:
    def __init__(self, clock: Clock, codec: Codec, documents: DocumentStore, consents: ConsentService,
                 runner: Any, public_base_url: str, store: Optional[ExportStore] = None,
                 audit: Optional[AuditStore] = None, proxies: Optional[ProxyService] = None) -> None:
        self.clock, self.codec, self.documents, self.consents = clock, codec, documents, consents
        self.proxies = proxies
        self.runner, self.public_base_url = runner, public_base_url
        self.store = store or ExportStore()
        self.audit = audit or AuditStore()

    # -- the citizen's side ----------------------------------------------------------------------

    def request(self, patient_id: str) -> Dict[str, Any]:
        """Start an export, or return the one already under way."""
        for _ in range(3):
            now = self.clock()
            job = self.store.job(patient_id)
            if job is not None and self._state(job, now) in ("queued", "running"):
                return self._view(job, now)
            new = ExportJob(patient_id, job_id=secrets.token_hex(16), state="queued", requested_at=now,
                            updated_at=now, resources=0)
            try:
                self.store.start(new, job.job_id if job is not None else None)
            except JobChanged:
                continue  # another request at the same moment: its job is the one
            if job is not None and job.archive_key:
                self.documents.discard([job.archive_key])
            try:
                self.runner.start({"patient_id": patient_id, "job_id": new.job_id})
            except RunnerUnavailable:
                logger.exception("export job could not be started")
                self._set(patient_id, new.job_id, state="failed")
                raise ServiceUnavailable("The export could not be started; try again in a moment.",
                                         headers={"Retry-After": "30"}) from None
            return self._view(new, now)
        raise Conflict("An export was asked for at the same time; look at its progress.")

    def status(self, patient_id: str) -> Dict[str, Any]:
        job = self.store.job(patient_id)
        return self._view(job, self.clock()) if job is not None else {"state": "none"}

    def archive_url(self, patient_id: str) -> str:
        """A link to the ready archive, valid LINK_SECONDS; 404 when none is ready."""
        job = self.store.job(patient_id)
        if job is None or self._state(job, self.clock()) != "ready" or not job.archive_key:
            raise NotFound("No archive is ready: ask for a new export.")
        day = job.requested_at.astimezone(_PARIS).date().isoformat()
        return self.documents.url(job.archive_key, LINK_SECONDS, filename=f"mon-espace-sante-{day}.zip")

    # -- the worker ------------------------------------------------------------------------------

    def handle(self, event: Event) -> None:
        """The worker's entry point (the Lambda's event, or the local thread's: the same)."""
        patient_id, job_id = event.get("patient_id"), event.get("job_id")
        if not isinstance(patient_id, str) or not isinstance(job_id, str):
            logger.error("export event without patient_id and job_id")
            return
        self.build(patient_id, job_id)

    def build(self, patient_id: str, job_id: str) -> None:
        job = self.store.job(patient_id)
        if job is None or job.job_id != job_id or job.state not in ("queued", "running"):
            return  # replaced by a newer request, or a retried event of a finished job
        key = f"exports/{secrets.token_hex(20)}.zip"
        uploaded = False
        try:
            self.store.update(patient_id, job_id, state="running", updated_at=self.clock())
            with tempfile.TemporaryDirectory(prefix="export-") as folder:
                path = os.path.join(folder, "archive.zip")
                count = self._write(path, job)
                size = os.path.getsize(path)
                self.documents.put_file(key, path, "application/zip")
                uploaded = True
            now = self.clock()
            self.store.update(patient_id, job_id, state="ready", resources=count, archive_key=key,
                              archive_bytes=size, updated_at=now, ready_until=now + KEEP_ARCHIVE)
        except JobChanged:
            if uploaded:
                self.documents.discard([key])
        except Exception:  # noqa: BLE001 - any failure ends the job as failed, and the citizen may ask again
            logger.exception("export job failed", extra={"job_id": job_id})
            if uploaded:
                self.documents.discard([key])
            self._set(patient_id, job_id, state="failed")

    def _write(self, path: str, job: ExportJob) -> int:
        made = self.clock()
        patient_ref = job.job_id  # the Patient's id in this archive alone: the internal id never leaves
        fhir_base = f"{self.public_base_url}/fhir"

        def progress(count: int) -> None:
            self.store.update(job.patient_id, job.job_id, resources=count, updated_at=self.clock())

        with Archive(path) as archive:
            total = archive.json(BUNDLE, {
                "resourceType": "Bundle", "id": job.job_id, "type": "collection", "timestamp": _instant(made),
                "meta": {"lastUpdated": _instant(made)}}, "entry",
                counted(self._entries(job.patient_id, patient_ref, fhir_base), PROGRESS_EVERY, progress))
            proxies = self.proxies.copy_for(job.patient_id) if self.proxies is not None else {}
            archive.json(CONSENTS, {"generated_at": made.isoformat(), **proxies}, "consents",
                         self._consents(job.patient_id))
            archive.json(HISTORY, {"generated_at": made.isoformat()}, "entries", self._history(job.patient_id))
            for name, text in readmes(made.astimezone(_PARIS).strftime("%d/%m/%Y %H:%M"), total).items():
                archive.text(name, text)
        return total

    def _entries(self, patient_id: str, patient_ref: str, fhir_base: str) -> Iterator[Dict[str, Any]]:
        patient = next(self.store.resources(patient_id, "Patient"), None)
        resource = (self._show(patient, patient_ref) if patient is not None
                    else {"resourceType": "Patient", "id": patient_ref})
        yield {"fullUrl": f"{fhir_base}/Patient/{patient_ref}", "resource": resource}
        for resource_type in _RECORD_TYPES:
            for item in self.store.resources(patient_id, resource_type):
                resource = self._show(item, patient_ref)
                yield {"fullUrl": f"{fhir_base}/{resource_type}/{resource['id']}", "resource": resource}

    def _show(self, item: RecordItem, patient_ref: str) -> Dict[str, Any]:
        resource_type, _, resource_id = item.item_key.partition("#")
        if resource_type == "Patient":
            resource_id = patient_ref
        source = f"{self.public_base_url}/apps/{item.source_app}" if item.source_app else None
        shown = self.codec.show(resource_type, resource_id, item.resource, patient_ref, int(item.version),
                                item.last_updated, source)
        for content in shown.get("content", []):  # contents kept in S3 come into the archive itself
            attachment = content.get("attachment", {})
            url = attachment.get("url", "")
            if url.startswith("s3:"):
                attachment["data"] = base64.b64encode(self.documents.read(url[3:])).decode("ascii")
                del attachment["url"]
        return shown

    def _consents(self, patient_id: str) -> Iterator[Dict[str, Any]]:
        listed = self.consents.list(patient_id)
        for view in listed["active"] + listed["past"]:
            try:
                receipt: Optional[Dict[str, Any]] = self.consents.receipt(patient_id, view["app_id"])
            except NotFound:
                receipt = None
            yield {**{k: v for k, v in view.items() if k != "receipt"}, "receipt": receipt}

    def _history(self, patient_id: str) -> Iterator[Dict[str, Any]]:
        after: Optional[str] = None
        while True:
            items, after = self.audit.page(patient_id, None, after, _HISTORY_PAGE)
            names = self.audit.app_names({item.app_id for item in items})
            for item in items:
                yield {"at": item.at.isoformat(), "app_id": item.app_id,
                       "app_name": names.get(item.app_id, item.app_id), "interaction": item.interaction,
                       "resource_type": item.resource_type, "resource_id": item.resource_id,
                       "count": int(item.resources), "outcome": item.outcome, "reason": item.reason}
            if after is None:
                return

    # -- views -----------------------------------------------------------------------------------

    @staticmethod
    def _state(job: ExportJob, now: datetime) -> str:
        if job.state in ("queued", "running") and now - job.updated_at > STALE_AFTER:
            return "failed"  # its worker died without a word
        if job.state == "ready" and (job.ready_until is None or job.ready_until <= now):
            return "expired"
        return str(job.state)

    def _view(self, job: ExportJob, now: datetime) -> Dict[str, Any]:
        state = self._state(job, now)
        view: Dict[str, Any] = {"state": state, "requested_at": job.requested_at.isoformat(),
                                "resources": int(job.resources or 0)}
        if state == "ready":
            view.update({"archive": "/me/export/archive", "archive_bytes": int(job.archive_bytes or 0),
                         "ready_until": job.ready_until.isoformat() if job.ready_until else None})
        return view

    def _set(self, patient_id: str, job_id: str, **values: Any) -> None:
        try:
            self.store.update(patient_id, job_id, updated_at=self.clock(), **values)
        except Exception:  # noqa: BLE001 - best effort: a silent job is shown as failed after STALE_AFTER
            logger.exception("export job state not written", extra={"job_id": job_id})


def _instant(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


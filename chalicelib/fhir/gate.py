"""The gate of every FHIR call: whether the consent and the app still allow it, and the access
written to the citizen's audit log before any data leaves.

What a call costs (docs/decisions/0010-hot-path-without-shared-items.md):
- round trip 1: one BatchGetItem, strongly consistent, of the consent (under 1 KB), the app's
  status item (about 400 bytes) and, for a read, an update or a delete, the record itself; a
  search runs its Query at the same moment, on a second thread;
- round trip 2: the audit entry (PutItem) of a read or a search, or, for a write, one
  TransactWriteItems of the audit entry and the record's own writes.

What it guarantees:
- no item shared by several citizens is written, or held in a transaction, by a FHIR call (the
  app's status item and the consent are only read): concurrent calls never cancel each other;
- a call that starts after a consent is withdrawn, a token family revoked or an app suspended is
  refused: those changes are committed writes, and round trip 1 reads strongly consistently;
- nothing is returned unless the audit entry of the access was written; a refused call writes its
  refusal too, and answers 401 invalid_token.
Throttling and DynamoDB's own failures reach the edge, which answers 503 with Retry-After."""
from __future__ import annotations

import contextvars
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.catalog.models import STATUS_VERSION, AppStatus
from chalicelib.dynamodb import transaction_connection
from chalicelib.consent.models import Consent
from chalicelib.errors import Conflict, ServiceUnavailable
from chalicelib.fhir.access import AccessGrant, invalid_token
from chalicelib.oauth.quotas import Quota, Quotas
from chalicelib.records.audit import new_entry
from chalicelib.records.models import AuditItem, RecordItem
from chalicelib.clock import Clock

Write = Callable[[TransactWrite], None]
_UNPROCESSED_RETRIES = 2  # BatchGetItem may leave keys unprocessed under load: asked again, then 503
_REFUSALS = {"consent": "The consent behind this token was withdrawn, has expired or was replaced.",
             "token-revoked": "This access token was revoked.",
             "app": "The app is no longer referenced (suspended, withdrawn or lapsed)."}


class WriteRefused(Exception):
    """One of the call's own writes failed its condition (index among the call's writes)."""

    def __init__(self, index: int, code: Optional[str]) -> None:
        super().__init__(f"write {index} refused: {code}")
        self.index, self.code = index, code


class Gate:
    def __init__(self, clock: Clock, quotas: Optional[Quotas] = None) -> None:
        self.clock, self.quotas = clock, quotas
        self._pool: Optional[ThreadPoolExecutor] = None

    def admit(self, grant: AccessGrant, interaction: str, resource_type: str, resource_id: Optional[str] = None,
              record_key: Optional[str] = None, alongside: Optional[Callable[[], Any]] = None
              ) -> Tuple[Optional[RecordItem], Any]:
        """Round trip 1: the consent and the app's status, with the record `record_key` if given,
        while `alongside` (a search's Query) runs on another thread. Returns the record (or None)
        and what `alongside` returned; a refusal is logged and raised as 401 invalid_token."""
        pending = self._start(alongside) if alongside is not None else None
        try:
            found = self._batch_get(grant, record_key)
        finally:
            page = pending.result() if pending is not None else None
        self._check(grant, interaction, resource_type, resource_id, *found[:2])
        return found[2], page

    def admit_consent(self, grant: AccessGrant, interaction: str, resource_type: str,
                      resource_id: Optional[str] = None) -> Consent:
        """Round trip 1 without a record: the consent behind the token, once it and the app's
        status allow the call (what the acting person's RelatedPerson is made of)."""
        consent, status, _ = self._batch_get(grant, None)
        self._check(grant, interaction, resource_type, resource_id, consent, status)
        assert consent is not None  # noqa: S101 - _check refused a missing consent
        return consent

    def _check(self, grant: AccessGrant, interaction: str, resource_type: str, resource_id: Optional[str],
               consent: Optional[Consent], status: Optional[AppStatus]) -> None:
        if self.quotas is not None and status is not None:  # the commission's quota, read for free
            self.quotas.learn(grant.app_id, Quota.of(status.quota))
        reason = self._refusal(grant, consent, status)
        if reason is not None:
            self.refuse(grant, interaction, resource_type, resource_id, reason)
            raise invalid_token(_REFUSALS[reason])

    def log(self, grant: AccessGrant, interaction: str, resource_type: str, resource_id: Optional[str] = None,
            count: int = 0, outcome: str = "allowed", reason: Optional[str] = None) -> None:
        """Round trip 2 of a read or a search: the audit entry, before anything is returned. A plain
        PutItem of the entry as its model serializes it (PynamoDB's save would add a third of a
        millisecond of our own time to every call for nothing: the entry is new, unconditional)."""
        entry = new_entry(grant.patient_id, grant.app_id, self.clock(), interaction, resource_type, resource_id,
                          count, outcome, reason, grant.actor_id, grant.acting_as)
        transaction_connection().client.put_item(TableName=AuditItem.Meta.table_name, Item=entry.serialize(),
                                                 ReturnConsumedCapacity="TOTAL")

    def commit(self, grant: AccessGrant, interaction: str, resource_type: str, resource_id: Optional[str] = None,
               count: int = 0, writes: Sequence[Write] = ()) -> None:
        """Round trip 2 of a write: the audit entry and the call's own writes (each with its
        condition), in one transaction that touches this citizen's items only."""
        entry = new_entry(grant.patient_id, grant.app_id, self.clock(), interaction, resource_type, resource_id,
                          count, actor_id=grant.actor_id, acting_as=grant.acting_as)
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.save(entry)
                for write in writes:
                    write(transaction)
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise  # throttled or failed: a 503 at the edge, and nothing was written
            codes = [reason.code if reason else None for reason in error.cancellation_reasons or []]
            for index, code in enumerate(codes[1:]):
                if code == "ConditionalCheckFailed":
                    raise WriteRefused(index, code) from None
            raise Conflict("The record changed at the same time; try again.") from None

    def refuse(self, grant: AccessGrant, interaction: str, resource_type: str, resource_id: Optional[str],
               reason: str) -> None:
        """Log a refused access (the citizen sees those too)."""
        try:
            self.log(grant, interaction, resource_type, resource_id, outcome="refused", reason=reason)
        except (ClientError, BotoCoreError):
            pass  # the refusal stands even if its log line could not be written

    # -- round trip 1 ----------------------------------------------------------------------

    def _refusal(self, grant: AccessGrant, consent: Optional[Consent], status: Optional[AppStatus]
                 ) -> Optional[str]:
        now = self.clock()
        if (consent is None or consent.status != "active" or consent.generation != grant.generation
                or consent.expires_at <= now):
            return "consent"
        if consent.family_revoked(grant.family_id):
            return "token-revoked"
        if status is None or status.refuses(grant.app_epoch, now):
            return "app"
        return None

    def _batch_get(self, grant: AccessGrant, record_key: Optional[str]
                   ) -> Tuple[Optional[Consent], Optional[AppStatus], Optional[RecordItem]]:
        """One BatchGetItem over three tables, every one read strongly consistently."""
        wanted = {
            Consent.Meta.table_name: {"patient_id": {"S": grant.patient_id}, "item_key": {"S": grant.app_id}},
            AppStatus.Meta.table_name: {"app_id": {"S": grant.app_id}, "version": {"N": str(STATUS_VERSION)}},
        }
        if record_key is not None:
            wanted[RecordItem.Meta.table_name] = {"patient_id": {"S": grant.patient_id}, "item_key": {"S": record_key}}
        request = {table: {"Keys": [key], "ConsistentRead": True} for table, key in wanted.items()}
        items: Dict[str, Dict[str, Any]] = {}
        client = transaction_connection().client
        for attempt in range(_UNPROCESSED_RETRIES + 1):
            response = client.batch_get_item(RequestItems=request, ReturnConsumedCapacity="TOTAL")
            for table, found in response.get("Responses", {}).items():
                if found:
                    items[table] = found[0]
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.02 * 2 ** attempt)
        else:
            raise ServiceUnavailable("The record store is busy; try again in a moment.", headers={"Retry-After": "1"})
        consent = items.get(Consent.Meta.table_name)
        status = items.get(AppStatus.Meta.table_name)
        record = items.get(RecordItem.Meta.table_name)
        return (Consent.from_raw_data(consent) if consent else None,
                AppStatus.from_raw_data(status) if status else None,
                RecordItem.from_raw_data(record) if record else None)

    def _start(self, work: Callable[[], Any]) -> Future:
        """`work` on the gate's thread, in this request's context (its DynamoDB accounting)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fhir-gate")
        return self._pool.submit(contextvars.copy_context().run, work)

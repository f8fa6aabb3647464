"""The gate of every FHIR call: in ONE DynamoDB transaction, check that the consent behind the
token still stands (same generation, not expired) and that the app is still published, write the
access to the audit log, and apply the call's own writes, if any.

A read costs two round trips in all (the read, then this transaction); a write costs one. When
the consent or the app no longer allows the call, the refusal is logged and the app gets 401
invalid_token at once: nothing is cached between calls."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, List, Optional

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.catalog.models import HEAD_VERSION, AppHead, transaction_connection
from chalicelib.consent.models import Consent
from chalicelib.errors import Conflict
from chalicelib.fhir.access import AccessGrant, invalid_token
from chalicelib.records.audit import new_entry

Clock = Callable[[], datetime]
Write = Callable[[TransactWrite], None]
_FIXED = 3  # consent check, app check, audit entry: the call's writes come after


class WriteRefused(Exception):
    """One of the call's own writes failed its condition (index among the call's writes)."""

    def __init__(self, index: int, code: Optional[str]) -> None:
        super().__init__(f"write {index} refused: {code}")
        self.index, self.code = index, code


class Gate:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def commit(self, grant: AccessGrant, interaction: str, resource_type: str, resource_id: Optional[str] = None,
               count: int = 0, writes: List[Write] = ()) -> None:
        now = self.clock()
        entry = new_entry(grant.patient_id, grant.app_id, now, interaction, resource_type, resource_id, count)
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.condition_check(
                    Consent, grant.patient_id, grant.app_id,
                    condition=(Consent.status == "active") & (Consent.generation == grant.generation)
                    & (Consent.expires_at > now))
                transaction.condition_check(
                    AppHead, grant.app_id, HEAD_VERSION,
                    condition=(AppHead.status == "published")
                    & (AppHead.referenced_until.does_not_exist() | (AppHead.referenced_until > now))
                    & AppHead.epoch_is(grant.app_epoch))
                transaction.save(entry)
                for write in writes:
                    write(transaction)
        except TransactWriteError as error:
            reasons = error.cancellation_reasons or []
            codes = [reason.code if reason else None for reason in reasons]
            if any(code == "ConditionalCheckFailed" for code in codes[:2]):
                self.refuse(grant, interaction, resource_type, resource_id,
                            "consent" if codes[0] == "ConditionalCheckFailed" else "app")
                raise invalid_token("The consent behind this token was withdrawn, or the app is no longer "
                                    "referenced.") from None
            for index, code in enumerate(codes[_FIXED:]):
                if code == "ConditionalCheckFailed":
                    raise WriteRefused(index, code) from None
            raise Conflict("The record changed at the same time; try again.") from None

    def refuse(self, grant: AccessGrant, interaction: str, resource_type: str, resource_id: Optional[str],
               reason: str) -> None:
        """Log a refused access (the citizen sees those too)."""
        try:
            new_entry(grant.patient_id, grant.app_id, self.clock(), interaction, resource_type, resource_id,
                      outcome="refused", reason=reason).save()
        except PutError:
            pass  # the refusal stands even if its log line could not be written

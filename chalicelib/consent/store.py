"""The Consents table behind the consent domain: every read and write that ConsentService makes,
and nothing else touches these items outside the FHIR gate's one BatchGetItem (fhir/gate.py).
Each write states its condition; a write that loses a race says so (StaleConsent), and the
service decides what that means for the citizen."""
from __future__ import annotations

from datetime import datetime
from typing import Dict, Iterator, List, Optional, Tuple

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.consent.models import Consent, ConsentEvent, ProxyGrant, ProxyInvitation, ProxyOf
from chalicelib.dynamodb import transaction_connection


class StaleConsent(Exception):
    """The consent changed since it was read (its condition failed): nothing was written."""


class StaleProxy(Exception):
    """The proxy link or its invitation changed since it was read (used, ended): nothing was written."""


def _cancelled(error: TransactWriteError, stale: type) -> Exception:
    """A transaction that lost its condition says so (`stale`); throttling and failures are raised
    as they are (a 503 at the edge, and nothing was written)."""
    if error.cause_response_code != "TransactionCanceledException":
        return error
    return stale()


def proxy_key(link_id: str) -> str:
    return f"proxy#{link_id}"


class ConsentStore:
    def find(self, patient_id: str, app_id: str) -> Optional[Consent]:
        try:
            return Consent.get(patient_id, app_id)
        except DoesNotExist:
            return None

    def find_by_pairwise_id(self, pairwise_id: str) -> Optional[Consent]:
        for consent in Consent.by_pairwise_id.query(pairwise_id, limit=1):
            return consent
        return None

    def of_citizen(self, patient_id: str) -> Iterator[Consent]:
        """The citizen's consents (one Query on their partition)."""
        return iter(Consent.query(patient_id))

    def event(self, patient_id: str, event_key: str) -> Optional[ConsentEvent]:
        try:
            return ConsentEvent.get(patient_id, event_key)
        except DoesNotExist:
            return None

    def save_with_event(self, consent: Consent, event: ConsentEvent, read_generation: Optional[int],
                        proxy_link: Optional[str] = None) -> None:
        """The consent and its history entry in one transaction, if the consent is still the one
        read (`read_generation`; None: none existed) and, given by a proxy, if their link
        (`proxy_link`) still stands: a consent never outlives the end of the link it came through."""
        condition = (Consent.item_key.does_not_exist() if read_generation is None
                     else Consent.generation == read_generation)
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.save(consent, condition=condition)
                transaction.save(event)
                if proxy_link is not None:  # an update, not a ConditionCheck: no IAM action of its own needed
                    transaction.update(ProxyGrant(consent.patient_id, proxy_key(proxy_link)),
                                       actions=[ProxyGrant.last_used_at.set(consent.granted_at)],
                                       condition=ProxyGrant.status == "active")
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise  # throttled or failed: a 503 at the edge, and nothing was written
            raise StaleConsent() from None

    def set_revoked_families(self, consent: Consent, families: Dict[str, int],
                             read: Optional[Dict[str, int]]) -> None:
        """The consent's list of revoked token families, if neither it nor the consent moved."""
        unchanged = (Consent.revoked_families.does_not_exist() if read is None
                     else Consent.revoked_families == read)
        try:
            consent.update(actions=[Consent.revoked_families.set(families)],
                           condition=(Consent.generation == consent.generation) & unchanged)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            raise StaleConsent() from None

    def next_generation(self, patient_id: str, app_id: str, generation: int) -> None:
        """Move the consent to its next generation, if it is still at `generation`."""
        try:
            Consent(patient_id, app_id).update(actions=[Consent.generation.add(1)],
                                               condition=Consent.generation == generation)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise  # throttled or failed: a 503, never a refusal that silently left the tokens alive
            raise StaleConsent() from None

    # -- the expiry sweep ----------------------------------------------------------------------

    def unindexed(self) -> Iterator[Consent]:
        """Active consents not in the `expiring` index (granted before it existed): a Scan of the
        whole table, paged, for the one-off backfill only (consent/service.py index_for_expiry)."""
        return iter(Consent.scan((Consent.status == "active") & Consent.expiry_day.does_not_exist()))

    def set_expiry_day(self, consent: Consent, day: str) -> bool:
        """The consent in the `expiring` index, if it is still active with the end read and still
        outside it; False when it moved on meanwhile (withdrawn, granted again, marked)."""
        try:
            consent.update(actions=[Consent.expiry_day.set(day)],
                           condition=(Consent.status == "active") & (Consent.expires_at == consent.expires_at)
                           & Consent.expiry_day.does_not_exist())
            return True
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            return False

    def expiring(self, day_shard: str, until: datetime) -> Iterator[Tuple[str, str, datetime]]:
        """(patient, app, end) of the consents of one day's shard of the `expiring` index whose end
        is at or before `until` (one Query, paged; keys only)."""
        for item in Consent.expiring.query(day_shard, Consent.expires_at <= until):
            yield item.patient_id, item.item_key, item.expires_at

    def mark_expired(self, patient_id: str, app_id: str, expires_at: datetime, event: ConsentEvent) -> None:
        """The consent marked `expired` (out of the `expiring` and `active-by-app` indexes), with
        its history entry, in one transaction, if it is still active with the end read: a consent
        granted again meanwhile, or already marked by another sweep, is left as it is (StaleConsent)."""
        consent = Consent(patient_id, app_id)
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.update(consent, actions=[Consent.status.set("expired"), Consent.active_app_id.remove(),
                                                     Consent.expiry_day.remove()],
                                   condition=(Consent.status == "active") & (Consent.expires_at == expires_at))
                transaction.save(event)
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise
            raise StaleConsent() from None

class ProxyStore:
    """The proxies citizens chose (consent/proxies.py): each link in the citizen's partition, its
    mirror in the proxy's once accepted, its invitation under the hash of its code. Each change is
    one transaction with its condition; a lost condition is StaleProxy."""

    def of_grantor(self, patient_id: str) -> List[ProxyGrant]:
        """The citizen's links, every status (one Query on their partition)."""
        return list(ProxyGrant.query(patient_id, ProxyGrant.item_key.startswith("proxy#")))

    def of_actor(self, actor_id: str) -> List[ProxyOf]:
        """The links in which `actor_id` is the proxy (one Query on their partition)."""
        return list(ProxyOf.query(actor_id, ProxyOf.item_key.startswith("proxy-of#")))

    def grant(self, patient_id: str, link_id: str) -> Optional[ProxyGrant]:
        try:
            return ProxyGrant.get(patient_id, proxy_key(link_id), consistent_read=True)
        except DoesNotExist:
            return None

    def invitation(self, invitation_key: str) -> Optional[ProxyInvitation]:
        try:
            return ProxyInvitation.get(invitation_key, "invitation", consistent_read=True)
        except DoesNotExist:
            return None

    def invite(self, grant: ProxyGrant, invitation: ProxyInvitation) -> None:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.save(grant, condition=ProxyGrant.item_key.does_not_exist())
            transaction.save(invitation, condition=ProxyInvitation.item_key.does_not_exist())

    def accept(self, grant: ProxyGrant, invitation_key: str, mirror: ProxyOf, at: datetime) -> None:
        """The invitation used (deleted), the link active for `mirror.patient_id`, its mirror written."""
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.delete(ProxyInvitation(invitation_key, "invitation"),
                                   condition=ProxyInvitation.item_key.exists())
                transaction.update(grant, actions=[ProxyGrant.status.set("active"),
                                                   ProxyGrant.actor_id.set(mirror.patient_id),
                                                   ProxyGrant.accepted_at.set(at),
                                                   ProxyGrant.invitation_key.remove()],
                                   condition=ProxyGrant.status == "invited")
                transaction.save(mirror, condition=ProxyOf.item_key.does_not_exist())
        except TransactWriteError as error:
            raise _cancelled(error, StaleProxy) from None

    def close_invitation(self, grant: ProxyGrant, invitation_key: str, ended_by: str, at: datetime) -> None:
        """An invitation declined by the invited person, or withdrawn by the citizen before it was used."""
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.delete(ProxyInvitation(invitation_key, "invitation"))
                transaction.update(grant, actions=[ProxyGrant.status.set("ended"), ProxyGrant.ended_at.set(at),
                                                   ProxyGrant.ended_by.set(ended_by),
                                                   ProxyGrant.invitation_key.remove()],
                                   condition=ProxyGrant.status == "invited")
        except TransactWriteError as error:
            raise _cancelled(error, StaleProxy) from None

    def end(self, grant: ProxyGrant, ended_by: str, at: datetime) -> None:
        """A standing link ended, on both sides at once."""
        mirror = ProxyOf(grant.actor_id, f"proxy-of#{grant.link_id}")
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.update(grant, actions=[ProxyGrant.status.set("ended"), ProxyGrant.ended_at.set(at),
                                                   ProxyGrant.ended_by.set(ended_by)],
                                   condition=ProxyGrant.status == "active")
                transaction.update(mirror, actions=[ProxyOf.status.set("ended")],
                                   condition=ProxyOf.item_key.exists())
        except TransactWriteError as error:
            raise _cancelled(error, StaleProxy) from None

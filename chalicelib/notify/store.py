"""Every read and write of the notify domain: subscriptions and alerts in the Subscriptions table,
and the few items of other domains it reads (the consent, the app's status item, a document's
hidden flag), each strongly consistent, each batch one round trip. Writes state their condition;
a write whose subscription is gone or no longer active says so (SubscriptionGone)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.catalog.models import HEAD_VERSION, STATUS_VERSION, AppHead, AppStatus
from chalicelib.consent.models import Consent
from chalicelib.dynamodb import transaction_connection
from chalicelib.notify.models import (SETTINGS_KEY, AlertItem, AlertSettings, SubscriptionItem,
                                      subscription_key)
from chalicelib.records.models import AuditItem, RecordItem

_UNPROCESSED_RETRIES = 3


class SubscriptionGone(Exception):
    """The subscription was deleted, or is no longer in the state the write expected: nothing written."""


def _gone(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def batch_get(keys: Dict[str, List[Dict[str, Any]]]) -> Dict[str, List[Dict[str, Any]]]:
    """One BatchGetItem (strongly consistent), keys left unprocessed asked again: raw items by table."""
    request = {table: {"Keys": wanted, "ConsistentRead": True} for table, wanted in keys.items() if wanted}
    found: Dict[str, List[Dict[str, Any]]] = {table: [] for table in keys}
    client = transaction_connection().client
    for attempt in range(_UNPROCESSED_RETRIES + 1):
        if not request:
            break
        response = client.batch_get_item(RequestItems=request, ReturnConsumedCapacity="TOTAL")
        for table, items in response.get("Responses", {}).items():
            found[table].extend(items)
        request = response.get("UnprocessedKeys") or {}
        if request:
            time.sleep(0.02 * 2 ** attempt)
    if request:
        raise RuntimeError("DynamoDB left keys unprocessed")  # the event is retried by its source
    return found


def _consent_key(patient_id: str, app_id: str) -> Dict[str, Any]:
    return {"patient_id": {"S": patient_id}, "item_key": {"S": app_id}}


def _status_key(app_id: str) -> Dict[str, Any]:
    return {"app_id": {"S": app_id}, "version": {"N": str(STATUS_VERSION)}}


class SubscriptionStore:
    # -- the app's side (the Subscription routes) ------------------------------------------------

    def consent_and_status(self, patient_id: str, app_id: str) -> Tuple[Optional[Consent], Optional[AppStatus]]:
        found = batch_get({Consent.Meta.table_name: [_consent_key(patient_id, app_id)],
                           AppStatus.Meta.table_name: [_status_key(app_id)]})
        consents = found[Consent.Meta.table_name]
        statuses = found[AppStatus.Meta.table_name]
        return (Consent.from_raw_data(consents[0]) if consents else None,
                AppStatus.from_raw_data(statuses[0]) if statuses else None)

    def notification_endpoints(self, app_id: str) -> List[str]:
        """The endpoints of the app's approved listing (its head: one GetItem, at creation only)."""
        try:
            head = AppHead.get(app_id, HEAD_VERSION)
        except DoesNotExist:
            return []
        return [str(url) for url in head.notification_endpoints or []]

    def get(self, patient_id: str, app_id: str, subscription_id: str) -> Optional[SubscriptionItem]:
        try:
            return SubscriptionItem.get(patient_id, subscription_key(app_id, subscription_id), consistent_read=True)
        except DoesNotExist:
            return None

    def of_app(self, patient_id: str, app_id: str) -> List[SubscriptionItem]:
        """The app's subscriptions for this citizen (one Query)."""
        return list(SubscriptionItem.query(patient_id, SubscriptionItem.item_key.startswith(f"sub#{app_id}#"),
                                           consistent_read=True))

    def create(self, item: SubscriptionItem, entry: AuditItem) -> None:
        """The subscription and its entry in the citizen's access history, in one transaction."""
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.save(item, condition=SubscriptionItem.item_key.does_not_exist())
            transaction.save(entry)

    def delete(self, item: SubscriptionItem, entry: AuditItem) -> None:
        """The subscription gone and the entry in the access history, in one transaction."""
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.delete(item, condition=SubscriptionItem.item_key.exists())
                transaction.save(entry)
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise
            raise SubscriptionGone() from None

    # -- the stream handler's side ---------------------------------------------------------------

    def of_patient(self, patient_id: str) -> List[SubscriptionItem]:
        """Every app's subscriptions for this citizen (one Query of their partition)."""
        return list(SubscriptionItem.query(patient_id, SubscriptionItem.item_key.startswith("sub#")))

    def consents_and_statuses(self, patient_id: str, app_ids: Iterable[str]
                              ) -> Tuple[Dict[str, Consent], Dict[str, AppStatus]]:
        """These apps' consents from this citizen, and their status items (one BatchGetItem)."""
        apps = sorted(set(app_ids))
        if not apps:
            return {}, {}
        found = batch_get({Consent.Meta.table_name: [_consent_key(patient_id, app) for app in apps],
                           AppStatus.Meta.table_name: [_status_key(app) for app in apps]})
        consents = [Consent.from_raw_data(raw) for raw in found[Consent.Meta.table_name]]
        statuses = [AppStatus.from_raw_data(raw) for raw in found[AppStatus.Meta.table_name]]
        return {c.app_id: c for c in consents}, {s.app_id: s for s in statuses}

    def number_event(self, item: SubscriptionItem) -> int:
        """The next event number of this subscription (one UpdateItem, if it is still active)."""
        try:
            item.update(actions=[SubscriptionItem.events.add(1)],
                        condition=SubscriptionItem.status == "active")
        except UpdateError as error:
            if not _gone(error):
                raise
            raise SubscriptionGone() from None
        return int(item.events)

    # -- the delivery worker's side --------------------------------------------------------------

    def for_delivery(self, patient_id: str, app_id: str, subscription_id: str, record_key: Optional[str]
                     ) -> Tuple[Optional[SubscriptionItem], Optional[Consent], Optional[AppStatus],
                                Optional[RecordItem]]:
        """The subscription, the consent, the app's status and, for a record event, the record as
        it is now (one BatchGetItem)."""
        wanted: Dict[str, List[Dict[str, Any]]] = {
            SubscriptionItem.Meta.table_name: [{"patient_id": {"S": patient_id},
                                                "item_key": {"S": subscription_key(app_id, subscription_id)}}],
            Consent.Meta.table_name: [_consent_key(patient_id, app_id)],
            AppStatus.Meta.table_name: [_status_key(app_id)]}
        if record_key is not None:
            wanted[RecordItem.Meta.table_name] = [{"patient_id": {"S": patient_id}, "item_key": {"S": record_key}}]
        found = batch_get(wanted)

        def one(model: Any) -> Any:
            items = found.get(model.Meta.table_name) or []
            return model.from_raw_data(items[0]) if items else None
        return one(SubscriptionItem), one(Consent), one(AppStatus), one(RecordItem) if record_key else None

    def delivered(self, item: SubscriptionItem, event_number: Optional[int], now: datetime, off: bool = False) -> None:
        """A notification accepted (`event_number` None: a heartbeat, which takes no number); the
        next heartbeat is due a period after it, in the same UpdateItem."""
        actions = [SubscriptionItem.delivered.add(1), SubscriptionItem.failures.set(0),
                   SubscriptionItem.retry_after.remove(), SubscriptionItem.last_delivered_at.set(now)]
        if event_number is not None:
            actions.append(SubscriptionItem.last_event_number.set(max(event_number,
                                                                      int(item.last_event_number or 0))))
        if item.heartbeat_seconds:
            actions.append(SubscriptionItem.heartbeat_due.set(now + timedelta(seconds=int(item.heartbeat_seconds))))
        if off:
            actions += [SubscriptionItem.status.set("off"), SubscriptionItem.reason.set("consent ended"),
                        SubscriptionItem.heartbeat_shard.remove()]
        self._update(item, actions)

    def failed(self, item: SubscriptionItem, error: str, retry_after: Optional[datetime]) -> None:
        """One more failure; without `retry_after`, the subscription is set to `error`."""
        actions = [SubscriptionItem.failures.add(1), SubscriptionItem.last_error.set(error[:300])]
        if retry_after is None:
            actions += [SubscriptionItem.status.set("error"), SubscriptionItem.reason.set(error[:300]),
                        SubscriptionItem.retry_after.remove(), SubscriptionItem.heartbeat_shard.remove()]
        else:
            actions.append(SubscriptionItem.retry_after.set(retry_after))
        self._update(item, actions)

    def turn_off(self, item: SubscriptionItem, reason: str) -> None:
        self._update(item, [SubscriptionItem.status.set("off"), SubscriptionItem.reason.set(reason),
                            SubscriptionItem.heartbeat_shard.remove()])

    # -- the heartbeat sweep -----------------------------------------------------------------------

    def delay_heartbeat(self, item: SubscriptionItem, until: datetime) -> None:
        self._update(item, [SubscriptionItem.heartbeat_due.set(until)])

    def heartbeats_due(self, shard: str, now: datetime) -> Iterator[SubscriptionItem]:
        """The subscriptions of this shard whose heartbeat is due (one Query, paged)."""
        return SubscriptionItem.heartbeat_due_index.query(shard, SubscriptionItem.heartbeat_due <= now)

    def claim_heartbeat(self, item: SubscriptionItem, now: datetime) -> None:
        """The next heartbeat due a period from now, if the subscription is still active and no
        notification nor other sweep moved it since it was read (one UpdateItem): whoever claims
        it queues the heartbeat, once."""
        next_due = now + timedelta(seconds=int(item.heartbeat_seconds))
        try:
            item.update(actions=[SubscriptionItem.heartbeat_due.set(next_due)],
                        condition=(SubscriptionItem.status == "active")
                        & (SubscriptionItem.heartbeat_due == item.heartbeat_due))
        except UpdateError as error:
            if not _gone(error):
                raise
            raise SubscriptionGone() from None

    def _update(self, item: SubscriptionItem, actions: List[Any]) -> None:
        try:
            item.update(actions=actions, condition=SubscriptionItem.item_key.exists())
        except UpdateError as error:
            if not _gone(error):
                raise
            raise SubscriptionGone() from None


class AlertStore:
    """The citizen's alert settings and alerts; the accesses a digest tells of."""

    def settings(self, patient_id: str) -> Optional[AlertSettings]:
        try:
            return AlertSettings.get(patient_id, SETTINGS_KEY, consistent_read=True)
        except DoesNotExist:
            return None

    def settings_of(self, patient_ids: Iterable[str]) -> Dict[str, AlertSettings]:
        """The settings of these citizens, those who have some (one BatchGetItem)."""
        wanted = [{"patient_id": {"S": p}, "item_key": {"S": SETTINGS_KEY}} for p in sorted(set(patient_ids))]
        if not wanted:
            return {}
        raw = batch_get({AlertSettings.Meta.table_name: wanted})[AlertSettings.Meta.table_name]
        return {item.patient_id: item for item in (AlertSettings.from_raw_data(r) for r in raw)}

    def save_settings(self, item: AlertSettings) -> None:
        item.save()

    def add(self, alert: AlertItem) -> None:
        try:
            alert.save(condition=AlertItem.item_key.does_not_exist())
        except PutError as error:
            if not _gone(error):
                raise  # the same alert twice (a redelivered message): once is enough

    def alerts(self, patient_id: str, limit: int = 50) -> List[AlertItem]:
        return list(AlertItem.query(patient_id, AlertItem.item_key.startswith("alert#"), scan_index_forward=False,
                                    limit=limit))

    def digest_subscribers(self, shard: str) -> List[AlertSettings]:
        return list(AlertSettings.digest_due.query(shard))

    def digest_done(self, item: AlertSettings, until: datetime) -> None:
        item.update(actions=[AlertSettings.digest_since.set(until)])

    def accesses_since(self, patient_id: str, since: datetime, until: datetime) -> List[AuditItem]:
        """The citizen's access log between two instants, oldest first (one Query, paged)."""
        return list(AuditItem.query(patient_id, AuditItem.at_key.between(since.isoformat(timespec="microseconds"),
                                                                          until.isoformat(timespec="microseconds"))))

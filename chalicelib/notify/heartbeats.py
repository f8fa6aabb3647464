"""Heartbeats (Subscriptions R5 Backport): a subscription with a `heartbeatPeriod` that was sent
nothing for that long is sent a `heartbeat` notification, so that its app can tell a quiet
record from a broken channel. The `notify_heartbeat` Lambda (app.py, every minute) runs `sweep`;
locally notify/local.py runs it on the same schedule.

Per run: one Query per shard of the sparse `heartbeat-due` index (only active subscriptions with
a period are in it, by when their next heartbeat is due; each delivery moves that on, so a busy
subscription is never read), one conditional UpdateItem per heartbeat (its claim: the next one is
due a period from now, so that an overlapping or retried sweep queues it once), one
SendMessageBatch per ten. The delivery worker sends it as any notification, signed, without an
event number (`events-since-subscription-start` unchanged), and only while the consent and the
app's publication stand (else the next is asked for a day later). A claim whose message could not
be queued (SQS failing) skips that heartbeat: the next is a period later."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Dict, List, Optional

from chalicelib.clock import Clock
from chalicelib.notify.store import SubscriptionGone, SubscriptionStore

HEARTBEAT_SHARDS = 16


def heartbeat_shard(subscription_id: str) -> str:
    return str(int(hashlib.sha256(subscription_id.encode()).hexdigest(), 16) % HEARTBEAT_SHARDS)


class HeartbeatSweep:
    def __init__(self, clock: Clock, queue: Any, store: Optional[SubscriptionStore] = None) -> None:
        self.clock, self.queue = clock, queue
        self.store = store or SubscriptionStore()

    def sweep(self, now: Optional[datetime] = None) -> int:
        """Every heartbeat due queued; returns how many."""
        now = now or self.clock()
        messages: List[Dict[str, Any]] = []
        for shard in range(HEARTBEAT_SHARDS):
            for item in self.store.heartbeats_due(str(shard), now):
                due = item.heartbeat_due
                try:
                    self.store.claim_heartbeat(item, now)
                except SubscriptionGone:
                    continue  # a notification went, another sweep claimed it, or it is no longer active
                _, app_id, subscription_id = item.item_key.split("#", 2)
                messages.append({"kind": "heartbeat", "patient_id": item.patient_id, "app_id": app_id,
                                 "subscription_id": subscription_id, "at": now.isoformat(),
                                 "id": f"{subscription_id}-heartbeat-{int(due.timestamp())}"})
        if messages:
            self.queue.send(messages)
        return len(messages)

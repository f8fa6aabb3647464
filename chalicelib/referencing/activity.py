"""The commission's évaluation of the referenced apps: for each, how many citizens have an active
consent, and how many FHIR calls it made in the last 30 days; counts only, never a citizen.

Cost: per app, one Query of the Consents table's `active-by-app` index (its keys only), and one
BatchGetItem of the app's 30 daily counts of accesses (records/store.py ActivityCounts, added to
from the Audit table's stream: nothing on the FHIR path). The counts are at least once: a stream
batch that Lambda retries counts twice (decision 0016)."""
from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any, Dict, List, Optional

from chalicelib.clock import Clock
from chalicelib.consent.models import Consent
from chalicelib.records.store import ActivityCounts

WINDOW = timedelta(days=30)


class ActivityReport:
    def __init__(self, clock: Clock, counts: Optional[ActivityCounts] = None) -> None:
        self.clock = clock
        self.counts = counts or ActivityCounts()

    def of_app(self, app_id: str) -> Dict[str, Any]:
        now = self.clock()
        consents = sum(1 for _ in Consent.active_by_app.query(
            app_id, filter_condition=Consent.expires_at > now, attributes_to_get=["patient_id", "item_key",
                                                                                  "expires_at"]))
        today = now.astimezone(timezone.utc).date()
        days = [(today - timedelta(days=back)).isoformat() for back in range(WINDOW.days)]
        return {"app_id": app_id, "active_consents": consents, "fhir_calls_30_days": self.counts.total(app_id, days)}

    def of_apps(self, apps: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        return [{**app, **self.of_app(app["app_id"])} for app in apps]

"""The commission's évaluation of the referenced apps: for each, how many citizens have an active
consent, and how many FHIR calls it made in the last 30 days; counts only, never a citizen.

Cost: per app, one Query (COUNT) of the Consents table's `active-by-app` index, then, for each
citizen it returns, one Query (COUNT) of that citizen's access log through its `by-app` index over
the 30 days. Enough for the commission's monthly look at apps of up to some ten thousand
consents; beyond that a per-app daily count kept by the FHIR gate is the way (decision 0016)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, List

from chalicelib.clock import Clock
from chalicelib.consent.models import Consent
from chalicelib.records.models import AuditItem

WINDOW = timedelta(days=30)


class ActivityReport:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def of_app(self, app_id: str) -> Dict[str, Any]:
        now = self.clock()
        since = (now - WINDOW).isoformat(timespec="microseconds")
        consents, calls = 0, 0
        for consent in Consent.active_by_app.query(app_id, filter_condition=Consent.expires_at > now,
                                                   attributes_to_get=["patient_id", "item_key", "expires_at"]):
            consents += 1
            calls += AuditItem.by_app.count(consent.patient_id, AuditItem.app_key.between(
                f"{app_id}#{since}", f"{app_id}#~"))
        return {"app_id": app_id, "active_consents": consents, "fhir_calls_30_days": calls}

    def of_apps(self, apps: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        return [{**app, **self.of_app(app["app_id"])} for app in apps]

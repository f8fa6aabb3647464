"""Citizens' access alerts (EHDS article 9): on the consents page a citizen chooses an alert at each
access by an app, a daily digest, or none. An alert says which app accessed what, and when, in the
history page's words (French first, English beside): it goes to the citizen's alerts list, a log
line and, in production, an e-mail through SES. Alerts at each access come from the Audit
table's stream (notify/events.py, then the delivery worker); digests from a daily schedule."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Mapping, Optional

from chalicelib.clock import Clock
from chalicelib.errors import InvalidRequest
from chalicelib.notify.models import SETTINGS_KEY, AlertItem, AlertSettings
from chalicelib.notify.store import AlertStore
from chalicelib.observability import logger
from chalicelib.records.store import AuditStore

MODES = ("off", "each", "digest")
DIGEST_SHARDS = 16
KEEP_ALERTS = timedelta(days=90)
DIGEST_PERIOD = timedelta(days=1)
MAX_LINES = 50  # an alert names at most this many accesses, then says how many more
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}")
Describe = Callable[[Mapping[str, Any]], Dict[str, Any]]


class AlertService:
    def __init__(self, clock: Clock, describe: Describe, mailer: Any = None, store: Optional[AlertStore] = None,
                 audit: Optional[AuditStore] = None) -> None:
        self.clock, self.describe, self.mailer = clock, describe, mailer
        self.store = store or AlertStore()
        self.audit = audit or AuditStore()

    # -- the citizen's choice --------------------------------------------------------------------

    def settings(self, patient_id: str) -> Dict[str, Any]:
        chosen = self.store.settings(patient_id)
        return {"mode": chosen.mode if chosen else "off", "email": chosen.email if chosen else None}

    def choose(self, patient_id: str, mode: str, email: Optional[str], language: str = "fr") -> Dict[str, Any]:
        if mode not in MODES:
            raise InvalidRequest("Choose no alert, an alert at each access, or a daily digest.")
        email = (email or "").strip() or None
        if email is not None and not _EMAIL.fullmatch(email):
            raise InvalidRequest("This e-mail address does not look right.")
        if mode != "off" and self.mailer is not None and email is None:
            raise InvalidRequest("An e-mail address is needed to send you alerts.")
        now = self.clock()
        shard = str(int(hashlib.sha256(patient_id.encode()).hexdigest(), 16) % DIGEST_SHARDS)
        self.store.save_settings(AlertSettings(patient_id, SETTINGS_KEY, mode=mode, email=email, language=language,
                                               digest_shard=shard if mode == "digest" else None,
                                               digest_since=now if mode == "digest" else None, updated_at=now))
        return self.settings(patient_id)

    def alerts(self, patient_id: str) -> List[Dict[str, Any]]:
        """The citizen's latest alerts, newest first, for the alerts list of their account."""
        return [{"at": alert.at.isoformat(), "mode": alert.mode, "lines": alert.lines}
                for alert in self.store.alerts(patient_id)]

    # -- sending ---------------------------------------------------------------------------------

    def send(self, patient_id: str, entries: List[Dict[str, Any]], mode: str = "each") -> Optional[AlertItem]:
        """An alert of these accesses (access-log entries) to the citizen: their list, a log line,
        their e-mail when a mailer is configured. Nothing when the citizen has turned alerts off."""
        chosen = self.store.settings(patient_id)
        if chosen is None or chosen.mode != mode or not entries:
            return None
        names = self.audit.app_names({e["app_id"] for e in entries if e.get("app_id")})
        lines = []
        for entry in entries[:MAX_LINES]:
            words = self.describe({**entry, "app_name": names.get(entry["app_id"], entry["app_id"])})
            lines.append({lang: f"{words['day']} {words['time']} : {words['sentence'][lang]}"
                          if lang == "fr" else f"{words['day']} {words['time']}: {words['sentence'][lang]}"
                          for lang in ("fr", "en")})
        if len(entries) > MAX_LINES:
            more = len(entries) - MAX_LINES
            lines.append({"fr": f"… et {more} autres accès.", "en": f"… and {more} more accesses."})
        now = self.clock()
        alert = AlertItem(patient_id, f"alert#{now.isoformat(timespec='microseconds')}#{secrets.token_hex(4)}",
                          at=now, mode=mode, lines=lines, expires_at=now + KEEP_ALERTS)
        if self.mailer is not None and chosen.email:
            alert.emailed = self.mailer.send(chosen.email, lines, mode, chosen.language)
        self.store.add(alert)
        logger.info("access alert", extra={"mode": mode, "accesses": len(entries), "emailed": bool(alert.emailed)})
        return alert

    def digest(self, now: Optional[datetime] = None) -> int:
        """The daily digests: each citizen who chose one gets the accesses since their last (none
        when nothing happened). Returns how many were sent."""
        now = now or self.clock()
        sent = 0
        for shard in range(DIGEST_SHARDS):
            for chosen in self.store.digest_subscribers(str(shard)):
                since = chosen.digest_since or now - DIGEST_PERIOD
                accesses = self.store.accesses_since(chosen.patient_id, since, now)
                entries = [{"at": a.at.isoformat(), "app_id": a.app_id, "interaction": a.interaction,
                            "resource_type": a.resource_type, "resource_id": a.resource_id, "count": int(a.resources),
                            "outcome": a.outcome, "reason": a.reason} for a in accesses]
                if self.send(chosen.patient_id, entries, mode="digest") is not None:
                    sent += 1
                self.store.digest_done(chosen, now)
        return sent

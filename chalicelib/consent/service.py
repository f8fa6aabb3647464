"""Consents: what a citizen granted to an app, for how long, and its history."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, FrozenSet, Iterable, List, Optional

from chalicelib.catalog.models import AppHead
from chalicelib.consent.models import EXPIRY_SHARDS, Consent, ConsentEvent, day_of, event_key, expiry_day, family_key
from chalicelib.consent.store import ConsentStore, StaleConsent
from chalicelib.errors import Conflict, Forbidden, NotFound
from chalicelib.clock import Clock

# The durations a citizen may choose, in days; capped by the app's referencing period.
DURATIONS = {"30": 30, "90": 90, "180": 180, "365": 365}
DEFAULT_DURATION = "365"
MAX_REVOKED_FAMILIES = 20
# The expiry sweep looks at today's and the two previous days' consents still unmarked: it can miss
# two days of runs (an outage) and still tell every app. A consent it never marks is refused all
# the same (every check compares expires_at); only its consent-ended notification would be lost.
EXPIRY_LOOKBACK_DAYS = 3


# The kinds of data a proxy may be given (docs/decisions/0019-chosen-proxies.md), by the FHIR types
# they cover; the patient's identity (Patient) goes with any of them: the proxy knows whom they act for.
PROXY_KINDS = {"documents": ("DocumentReference",), "measures": ("Observation",), "agenda": ("Appointment",)}
ALWAYS_WITHIN = ("Patient",)


def scope_within(scope: str, kinds: Optional[FrozenSet[str]]) -> bool:
    """Whether a SMART scope (`patient/Observation.rs?category=...`) stays within these kinds of
    data (None: all the patient's rights). A wildcard type is within all kinds only."""
    if kinds is None:
        return True
    resource = scope.split("?")[0].partition("/")[2].partition(".")[0]
    if resource == "*":
        return set(PROXY_KINDS) <= set(kinds)
    return resource in ALWAYS_WITHIN or any(resource in PROXY_KINDS.get(kind, ()) for kind in kinds)


@dataclass(frozen=True)
class GivenBy:
    """Someone giving a consent for the patient: who, in what capacity (representative, proxy),
    until when they may, on which kinds of data (a proxy's; None: all) and through which proxy link."""

    person_id: str
    kind: str  # representative | proxy
    name: str
    until: Optional[datetime] = None
    kinds: Optional[FrozenSet[str]] = None
    link_id: Optional[str] = None


class ConsentService:
    """The rules of consent; its storage is `store` (consent/store.py)."""

    def __init__(self, clock: Clock, store: Optional[ConsentStore] = None) -> None:
        self.clock = clock
        self.store = store or ConsentStore()

    def find(self, patient_id: str, app_id: str) -> Optional[Consent]:
        return self.store.find(patient_id, app_id)

    def active(self, patient_id: str, app_id: str) -> Optional[Consent]:
        consent = self.find(patient_id, app_id)
        if consent and consent.status == "active" and consent.expires_at > self.clock():
            return consent
        return None

    def by_pairwise_id(self, pairwise_id: str) -> Optional[Consent]:
        return self.store.find_by_pairwise_id(pairwise_id)

    @staticmethod
    def covers(consent: Optional[Consent], data_scopes: Iterable[str], context: Iterable[str]) -> bool:
        """Whether an active consent already includes everything asked (then no page is shown)."""
        if consent is None:
            return False
        return set(data_scopes) <= set(consent.scopes["data"]) and set(context) <= set(consent.scopes["context"])

    def grant(self, patient_id: str, head: AppHead, data_scopes: List[str], context: List[str],
              duration_days: int, given_by: Optional["GivenBy"] = None) -> Consent:
        """Record the citizen's choice (or, `given_by`, the choice of someone acting for them: it
        ends when their right to act does); the patient id the app sees stays the same across grants."""
        now = self.clock()
        if given_by is not None and not all(scope_within(scope, given_by.kinds) for scope in data_scopes):
            raise Forbidden("A proxy may grant only the kinds of data they were chosen for.")
        previous = self.find(patient_id, head.app_id)
        until = min(now + timedelta(days=duration_days), head.referenced_until)
        if given_by is not None and given_by.until is not None:
            until = min(until, given_by.until)
        receipt = self._receipt(head, data_scopes, context, now, until)
        if given_by is not None:
            receipt["given_by"] = {"name": given_by.name, "as": given_by.kind}
        event = ConsentEvent(patient_id, event_key(head.app_id, now), app_id=head.app_id,
                             action="granted", at=now,
                             detail={"scopes": data_scopes, "context": sorted(context), "until": until.isoformat(),
                                     **({"given_as": given_by.kind} if given_by else {})},
                             receipt=receipt)
        same_actor = previous is not None and given_by is not None and previous.given_by == given_by.person_id
        consent = Consent(
            patient_id, head.app_id, app_id=head.app_id, app_name=head.public["name"], status="active",
            active_app_id=head.app_id, scopes={"data": data_scopes, "context": sorted(context)},
            pairwise_id=previous.pairwise_id if previous else secrets.token_hex(16),
            generation=(previous.generation + 1) if previous else 1,
            granted_at=now, expires_at=until, expiry_day=expiry_day(patient_id, until), receipt_key=event.item_key,
            given_by=given_by.person_id if given_by else None, given_as=given_by.kind if given_by else None,
            given_by_name=given_by.name if given_by else None,
            given_by_ref=(previous.given_by_ref if same_actor and previous is not None else secrets.token_hex(16))
            if given_by else None)
        link = given_by.link_id if given_by is not None else None
        try:
            self.store.save_with_event(consent, event, int(previous.generation) if previous else None, link)
        except StaleConsent:
            current = self.find(patient_id, head.app_id) if link is not None else None
            if link is not None and (current.generation if current else None) == \
                    (previous.generation if previous else None):
                raise Forbidden("This proxy has ended.") from None  # the consent stood: the link's condition failed
            raise Conflict("This consent changed at the same time; try again.") from None
        return consent

    def list(self, patient_id: str, given_by: Optional[str] = None) -> Dict[str, List[Dict[str, Any]]]:
        """The citizen's consents, active and past, newest first (one Query on their partition);
        `given_by`: only those this person gave for them (what a proxy sees of the citizen's space)."""
        now = self.clock()
        active: List[Dict[str, Any]] = []
        past: List[Dict[str, Any]] = []
        for consent in self.store.of_citizen(patient_id):
            if given_by is not None and consent.given_by != given_by:
                continue
            view = consent_view(consent, now)
            (active if view["status"] == "active" else past).append(view)
        key = lambda view: view["granted_at"]  # noqa: E731
        return {"active": sorted(active, key=key, reverse=True), "past": sorted(past, key=key, reverse=True)}

    def giver_name(self, patient_id: str, person_id: str) -> Optional[str]:
        """The name someone who gave one of the citizen's consents for them was given under (one
        Query on the citizen's partition)."""
        return next((consent.given_by_name for consent in self.store.of_citizen(patient_id)
                     if consent.given_by == person_id and consent.given_by_name), None)

    def receipt(self, patient_id: str, app_id: str, given_by: Optional[str] = None) -> Dict[str, Any]:
        """The receipt of the consent's last grant (kept in that grant's event); `given_by`: only
        if this person gave it."""
        consent = self.find(patient_id, app_id)
        if consent is not None and given_by is not None and consent.given_by != given_by:
            consent = None
        event = self.store.event(patient_id, consent.receipt_key) if consent and consent.receipt_key else None
        if consent is None or event is None or not event.receipt:
            raise NotFound(f"No consent to '{app_id[:100]}'.")
        return {**event.receipt, "status": consent_view(consent, self.clock())["status"],
                "revoked_at": consent.revoked_at.isoformat() if consent.revoked_at else None}

    def revoke(self, patient_id: str, app_id: str, given_by: Optional[str] = None) -> Dict[str, Any]:
        """Withdraw consent at once: refresh tokens die now, access tokens at their next use;
        `given_by`: only if this person gave it (a proxy withdraws only their own)."""
        consent = self.find(patient_id, app_id)
        now = self.clock()
        if consent is not None and given_by is not None and consent.given_by != given_by:
            consent = None
        if consent is None or consent_view(consent, now)["status"] != "active":
            raise NotFound(f"No active consent to '{app_id[:100]}'.")
        read_generation = consent.generation
        consent.status, consent.active_app_id, consent.revoked_at = "revoked", None, now
        consent.expiry_day = None  # nothing left for the expiry sweep
        consent.generation = read_generation + 1
        event = ConsentEvent(patient_id, event_key(app_id, now), app_id=app_id, action="revoked", at=now)
        try:
            self.store.save_with_event(consent, event, int(read_generation))
        except StaleConsent:
            raise Conflict("This consent changed at the same time; try again.") from None
        return consent_view(consent, now)

    def index_for_expiry(self) -> int:
        """The one-off backfill after deploying the expiry sweep: each active consent granted before
        the `expiring` index existed is put in it (a consent already past its end lands in a past
        day: the sweep's look-back finds it if it ended within EXPIRY_LOOKBACK_DAYS, and otherwise
        it stays refused everywhere, untold). Idempotent; returns how many were indexed.
        `python -m chalicelib.consent.service index-for-expiry` (docs/deploy.md)."""
        indexed = 0
        for consent in self.store.unindexed():
            if self.store.set_expiry_day(consent, expiry_day(consent.patient_id, consent.expires_at)):
                indexed += 1
        return indexed

    def end_expired(self, now: Optional[datetime] = None) -> int:
        """The expiry sweep (the `consent_expiry` Lambda, every 15 minutes): each consent past its
        end (its own term, or a representative's right ending at the child's 18th birthday) is
        marked `expired`, with a history entry. That write is what tells the apps, as a withdrawal
        does: its stream record becomes the `consent-ended` notification (chalicelib/notify/).
        Idempotent: a consent marked leaves the index, and the mark is conditional (an
        overlapping sweep's second mark fails and is skipped). Returns how many were marked."""
        now = now or self.clock()
        marked = 0
        for back in range(EXPIRY_LOOKBACK_DAYS):
            day = day_of(now - timedelta(days=back))
            for shard in range(EXPIRY_SHARDS):
                for patient_id, app_id, ended in self.store.expiring(f"{day}#{shard}", now):
                    event = ConsentEvent(patient_id, event_key(app_id, ended), app_id=app_id, action="expired",
                                         at=ended, detail={"until": ended.isoformat(), "swept_at": now.isoformat()})
                    try:
                        self.store.mark_expired(patient_id, app_id, ended, event)
                        marked += 1
                    except StaleConsent:
                        continue  # granted again, withdrawn or marked since the index was read
        return marked

    def revoke_family(self, patient_id: str, app_id: str, family_id: str, alive_until: datetime) -> None:
        """Stop the tokens of one family (one authorization and its refreshes) at once, the consent
        standing (RFC 7009): the FHIR gate reads the family list with the consent on every call, so
        no round trip is added. `alive_until` is when the family's last access token expires; the
        entry is pruned after it. Past MAX_REVOKED_FAMILIES live entries, every token of the consent
        is stopped instead (end_tokens): the item stays small, and the app signs the citizen in again."""
        for _ in range(3):  # optimistic: the list as read, or read it again
            consent = self.find(patient_id, app_id)
            if consent is None or consent.family_revoked(family_id):
                return
            now = self.clock().timestamp()
            previous = consent.revoked_families
            families = {key: until for key, until in (previous or {}).items() if until > now}
            families[family_key(family_id)] = int(alive_until.timestamp()) + 1
            if len(families) > MAX_REVOKED_FAMILIES:
                self.end_tokens(patient_id, app_id, int(consent.generation))
                return
            try:
                self.store.set_revoked_families(consent, families, previous)
                return
            except StaleConsent:
                continue
        raise Conflict("This consent changed at the same time; try again.")

    def end_tokens(self, patient_id: str, app_id: str, generation: int) -> None:
        """Every token issued under this generation of the consent stops working (access tokens at
        their next use, refresh tokens at once), the consent itself still standing: what a replayed
        authorization code produced (RFC 6749 section 4.1.2). The app signs the citizen in again."""
        try:
            self.store.next_generation(patient_id, app_id, generation)
        except StaleConsent:
            pass  # moved on already (re-granted or withdrawn): those tokens are dead anyway

    @staticmethod
    def _receipt(head: AppHead, data_scopes, context, now: datetime, until: datetime) -> Dict[str, Any]:
        granted = []
        for scope in data_scopes:
            entry = approved_entry(head.public["data_access"], scope)
            granted.append({"scope": scope, "label": entry["label"] if entry else None,
                            "purpose": entry["purpose"] if entry else None,
                            "justification": entry["justification"] if entry else None})
        return {"app": {"app_id": head.app_id, "name": head.public["name"],
                        "publisher": head.public["publisher"]},
                "granted": granted, "context": sorted(context),
                "from": now.isoformat(), "until": until.isoformat()}


def consent_view(consent: Consent, now: datetime) -> Dict[str, Any]:
    status = consent.status
    if status == "active" and consent.expires_at <= now:
        status = "expired"
    return {"app_id": consent.app_id, "app_name": consent.app_name or consent.app_id, "status": status,
            "scopes": consent.scopes["data"], "context": consent.scopes["context"],
            "granted_at": consent.granted_at.isoformat(), "expires_at": consent.expires_at.isoformat(),
            "revoked_at": consent.revoked_at.isoformat() if consent.revoked_at else None,
            "receipt": f"/me/consents/{consent.app_id}/receipt",
            **({"given_by": {"name": consent.given_by_name, "as": consent.given_as}} if consent.given_by else {})}


def approved_entry(data_access: List[Dict[str, Any]], scope: str) -> Optional[Dict[str, Any]]:
    """The approved listing entry (label, purpose) a granted scope comes under: same resource, and
    a writing entry for a scope that writes."""
    resource, _, permissions = scope.split("?")[0].partition("/")[2].partition(".")
    writes = bool(set(permissions) & set("cud"))
    for entry in data_access:
        entry_resource, _, entry_permissions = entry["scope"].partition("/")[2].partition(".")
        if entry_resource == resource and bool(set(entry_permissions) & set("cud")) == writes:
            return entry
    return None


def main(argv: List[str]) -> int:
    """`python -m chalicelib.consent.service index-for-expiry`: ConsentService.index_for_expiry."""
    import sys
    from chalicelib.clock import utc_now
    if list(argv) != ["index-for-expiry"]:
        print("usage: python -m chalicelib.consent.service index-for-expiry", file=sys.stderr)
        return 2
    print(f"{ConsentService(utc_now).index_for_expiry()} consents put in the expiring index.")
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))

"""The citizen's access history page: which app did what to their record, and when, in words."""
from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlencode

from chalicelib.consent.service import ConsentService
from chalicelib.errors import InvalidRequest
from chalicelib.identity.families import Families
from chalicelib.records.audit import AUDIT_RETENTION, AccessLog
from chalicelib.web import i18n

PAGE_SIZE = 20
PATH = "/account/history"
NOUN_FORMS = ("one", "many", "some", "kind")
# Interactions whose entry names one resource: a count of 0 means the app asked for one it could
# not see (unknown, or hidden by the citizen).
_ONE_RESOURCE = ("read", "update", "delete")


def _local_zone() -> tzinfo:
    """Citizens read Paris time; where the time zone database is missing (some Lambda runtimes
    ship without it), UTC, and the page says so."""
    try:
        from zoneinfo import ZoneInfo
        return ZoneInfo("Europe/Paris")
    except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, or no zoneinfo module at all
        return timezone.utc


LOCAL_ZONE = _local_zone()


class HistoryPages:
    def __init__(self, access_log: AccessLog, consents: ConsentService, families: Optional[Families] = None) -> None:
        self.access_log, self.consents, self.families = access_log, consents, families

    def history(self, patient_id: str, params: Mapping[str, str], actor_id: Optional[str] = None) -> Dict[str, Any]:
        """One page of the citizen's access history, newest first, grouped by day, each entry in
        words; `app` keeps one app's accesses, `cursor` continues from the "older entries" link.
        A bad filter or cursor gives an empty page and `invalid`. `actor_id`: only what that person
        did for the citizen (a proxy's view of the citizen's space)."""
        app_id = (params.get("app") or "").strip() or None
        cursor = (params.get("cursor") or "").strip() or None
        entries: List[Dict[str, Any]] = []
        next_url: Optional[str] = None
        invalid = False
        try:
            page = self.access_log.history(patient_id, app_id, cursor, PAGE_SIZE, actor_id)
            person = self.families.person(patient_id) if self.families else None
            entries = [described(entry, person.given if person else None) for entry in page["entries"]]
            if page["next"]:
                next_url = f"{PATH}?" + urlencode({**({"app": app_id} if app_id else {}), "cursor": page["next"]})
        except InvalidRequest:
            invalid = True
        apps = self._apps(patient_id, entries, actor_id)
        chosen = next((app for app in apps if app["app_id"] == app_id), None)
        return {"days": by_day(entries), "count": len(entries), "next_url": next_url, "invalid": invalid,
                "paged": cursor is not None, "apps": apps, "app_id": app_id,
                "app_name": chosen["name"] if chosen else None,
                "first_url": PATH + (f"?{urlencode({'app': app_id})}" if app_id and not invalid else ""),
                "years": AUDIT_RETENTION.days // 365, "utc": LOCAL_ZONE is timezone.utc}

    def _apps(self, patient_id: str, entries: List[Dict[str, Any]],
              actor_id: Optional[str] = None) -> List[Dict[str, str]]:
        """The filter's choices: every app the citizen ever consented to (one Query; `actor_id`:
        those this person consented to for them), and any other app on this page."""
        names: Dict[str, str] = {}
        for group in self.consents.list(patient_id, given_by=actor_id).values():
            for view in group:
                names.setdefault(view["app_id"], view.get("app_name") or view["app_id"])
        for entry in entries:
            names.setdefault(entry["app_id"], entry["app_name"])
        return sorted(({"app_id": app_id, "name": name} for app_id, name in names.items()),
                      key=lambda app: (app["name"].casefold(), app["app_id"]))


def described(entry: Mapping[str, Any], patient_given: Optional[str] = None) -> Dict[str, Any]:
    """An access-log entry with its moment in local time and what happened in words, in French and
    English ({"fr": ..., "en": ...}, as the catalogue's labels); and who acted, when someone did
    for the citizen ("Alice Martin, pour Lina")."""
    moment = datetime.fromisoformat(entry["at"])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(LOCAL_ZONE)
    reason = None
    if entry["outcome"] != "allowed":
        key = f"history.reason.{entry.get('reason')}"
        reason = _both(key if key in i18n.messages() else "history.reason.other")
    return {**entry, "refused": entry["outcome"] != "allowed",
            "datetime": moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "day": local.date().isoformat(), "time": local.strftime("%H:%M"),
            "sentence": {lang: sentence(entry, lang) for lang in i18n.LANGUAGES}, "reason_words": reason,
            "acted_by_words": {lang: i18n.translate("history.acted_by", lang, name=entry["acted_by"]["name"] or "?",
                                                    patient=patient_given or "?") for lang in i18n.LANGUAGES}
            if entry.get("acted_by") else None}


def sentence(entry: Mapping[str, Any], lang: str) -> str:
    """'Bac à sable développeurs a consulté 20 mesures de santé.' / '... read 20 health measures.'"""
    interaction, count = entry["interaction"], int(entry.get("count") or 0)
    types = [kind for kind in str(entry.get("resource_type") or "").split(",") if kind]
    first = types[0] if types else ""
    values = {"app": entry.get("app_name") or entry["app_id"], "count": count,
              **{form: noun(first, form, lang, count) for form in NOUN_FORMS},
              "kinds": ", ".join(noun(kind, "kind", lang, count) for kind in types),
              "what": f"{interaction} {entry.get('resource_type') or ''}".strip()}
    if entry["outcome"] != "allowed":
        key = f"history.refused.{interaction}"
    elif interaction in ("search", "everything"):
        key = f"history.{interaction}" + (".none" if count == 0 else ".one" if count == 1 else "")
    elif interaction in _ONE_RESOURCE and count == 0:
        key = f"history.{interaction}.none"
    else:
        key = f"history.{interaction}"
    if key not in i18n.messages() or not types:
        key = "history.refused.other" if entry["outcome"] != "allowed" else "history.other"
    return i18n.translate(key, lang, **values)


def noun(resource_type: str, form: str, lang: str, count: int = 0) -> str:
    """A resource type in words ('des mesures de santé'); an unknown type shows as it is."""
    key = f"history.noun.{resource_type}.{form}"
    if key not in i18n.messages():
        return resource_type
    return i18n.translate(key, lang, count=count)


def by_day(entries: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Entries (newest first) in groups of one local day each, in order."""
    days: List[Dict[str, Any]] = []
    for entry in entries:
        if not days or days[-1]["day"] != entry["day"]:
            days.append({"day": entry["day"], "entries": []})
        days[-1]["entries"].append(entry)
    return days


def _both(key: str) -> Dict[str, str]:
    return {lang: i18n.translate(key, lang) for lang in i18n.LANGUAGES}

"""The pages' languages: French first, English beside; which one a request gets, and the words."""
from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
LANG_COOKIE = "mes_lang"

_MONTHS = {
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
}


@lru_cache(maxsize=1)
def messages() -> Dict[str, Dict[str, str]]:
    """Every sentence of the pages in French and English (messages.json, editable without code)."""
    path = Path(__file__).parent / "messages.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return {key: value for key, value in data.items() if not key.startswith("$")}


def translate(key: str, lang: str, **values: object) -> str:
    entry = messages().get(key)
    if entry is None:  # a missing sentence shows its key rather than breaking the page
        return key
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text


def negotiate(asked: Optional[str], remembered: Optional[str], accept_language: Optional[str]) -> str:
    """The page language: an explicit `?lang=`, else the remembered choice, else the browser's
    preference (Accept-Language, by q-value), else French."""
    for choice in (asked, remembered):
        if choice in LANGUAGES:
            return choice
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().split("-")[0].lower()
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if primary in LANGUAGES and q > best_q and q > 0:
            best, best_q = primary, q
        if primary == "*" and q > best_q and q > 0:
            best, best_q = DEFAULT_LANGUAGE, q
    return best


def in_language(value: object, lang: str) -> str:
    """A {"fr": ..., "en": ...} label in the page language (French when English is missing)."""
    if isinstance(value, dict):
        return str(value.get(lang) or value.get(DEFAULT_LANGUAGE) or "")
    return "" if value is None else str(value)


def long_date(value: object, lang: str) -> str:
    """'12 mars 2026' / '12 March 2026' from an ISO timestamp or a datetime."""
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    day = "1er" if lang == "fr" and moment.day == 1 else str(moment.day)
    return f"{day} {_MONTHS.get(lang, _MONTHS['fr'])[moment.month - 1]} {moment.year}"


def number(value: object, lang: str) -> str:
    """99.1 -> '99,1' in French; at most six significant digits, no trailing zeros."""
    try:
        number_value = float(value)  # type: ignore[arg-type]  # anything float() takes; else shown as is
    except (TypeError, ValueError):
        return str(value)
    shown = f"{number_value:.6g}"
    if "e" in shown:  # citizens read 0.0000123, not 1.23e-05
        shown = f"{number_value:.12f}".rstrip("0").rstrip(".")
    return shown.replace(".", ",") if lang == "fr" else shown


def language_cookie(lang: str, secure: bool) -> str:
    """Remembers the visible language switch for a year (a preference, nothing secret)."""
    return (f"{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"
            + ("; Secure" if secure else ""))

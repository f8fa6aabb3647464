"""The listing form of the portal: a listing document (catalog/listing.schema.json) as the fields
of an HTML form, grouped as the référentiel groups its criteria, and back; and each pre-check
failure as the field it belongs to and a plain sentence. No rule lives here: what is valid is the
pre-checks' (chalicelib/referencing/prechecks.py) to say."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from chalicelib.catalog.referential import Referential

URL_FIELDS = ("website", "privacy_policy", "terms", "support", "accessibility_statement")
CLIENT_TYPES = ("public", "confidential_secret", "confidential_jwks")
PLATFORMS = ("web", "ios", "android")
PURPOSES = ("prevention", "diagnosis", "care", "social-follow-up")
THIRD_PARTY_PURPOSES = ("hosting", "payment", "support", "messaging", "crash_reporting",
                        "audience_measurement_exempt", "audience_measurement", "advertising", "other")
NETWORKS = ("wifi", "4g", "5g", "wired")
# The fields of each kind of evidence (listing.schema.json, $defs/evidence), in the form's order.
EVIDENCE_FIELDS = {"certificate": ("reference", "issuer", "valid_until", "url"), "document": ("title", "url"),
                   "declaration": ("statement",), "test_report": ("provider", "date", "summary", "url"),
                   "url": ("url",)}
STEP_FIELDS = ("name", "duration_s", "data_kb", "energy_mwh")
_TEXT = ("name", "short_description.fr", "short_description.en", "long_description.fr", "long_description.en",
         "publisher.legal_name", "publisher.siret", "publisher.contact_email", "category", "logo_url",
         *(f"urls.{name}" for name in URL_FIELDS), "ecoscore.device_class", "ecoscore.measured_at",
         "ecoscore.tool", "ecoscore.network")
EXTRA_ROWS = 2  # blank rows offered below a list's filled ones (no script: saving adds more)


def _number(text: str) -> Any:
    """A number as typed (a comma is a decimal point in French); kept as text if it is none, so
    that the pre-checks name it and the field shows it back."""
    try:
        value = float(text.replace(",", ".").replace("\u00a0", "").replace(" ", ""))
    except ValueError:
        return text
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def _set(document: Dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    target = document
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _rows(fields: Mapping[str, str], prefix: str, names: Tuple[str, ...]) -> List[Dict[str, str]]:
    indexes = sorted({int(match.group(1)) for key in fields
                      for match in [re.fullmatch(rf"{re.escape(prefix)}\.(\d{{1,2}})\.\w+", key)] if match})
    rows = []
    for index in indexes:
        row = {name: fields.get(f"{prefix}.{index}.{name}", "").strip() for name in names}
        if any(row.values()):
            rows.append(row)
    return rows


def document_from_form(fields: Mapping[str, str], multi: Mapping[str, List[str]],
                       referential: Referential) -> Dict[str, Any]:
    """The listing document a form describes; empty fields are left out (a draft may be
    incomplete), so that what was typed is all that is saved."""
    document: Dict[str, Any] = {}
    for path in _TEXT:
        value = fields.get(path, "").strip()
        if value:
            _set(document, path, value)
    platforms = [p for p in multi.get("platforms", []) if p]
    if platforms:
        document["platforms"] = platforms
    uris = [line.strip() for line in fields.get("redirect_uris", "").splitlines() if line.strip()]
    if uris:
        document["redirect_uris"] = uris
    client_type = fields.get("client.type", "").strip()
    if client_type:
        document["client"] = {"type": client_type}
        if client_type == "confidential_jwks" and fields.get("client.jwks_uri", "").strip():
            document["client"]["jwks_uri"] = fields["client.jwks_uri"].strip()
    document["offline_access"] = fields.get("offline_access") == "yes"
    scopes = []
    for scope in referential.data_scopes:
        if fields.get(f"scope.{scope}") == "yes":
            item: Dict[str, Any] = {"scope": scope}
            if fields.get(f"scope.{scope}.purpose", "").strip():
                item["purpose"] = fields[f"scope.{scope}.purpose"].strip()
            justification = {lang: fields.get(f"scope.{scope}.justification.{lang}", "").strip()
                             for lang in ("fr", "en")}
            if any(justification.values()):
                item["justification"] = {lang: text for lang, text in justification.items() if text}
            scopes.append(item)
    document["scopes"] = scopes
    document["third_parties"] = [{k: v for k, v in row.items() if v}
                                 for row in _rows(fields, "third_parties", ("name", "purpose", "country"))]
    evidence = {}
    for criterion_id, criterion in referential.criteria.items():
        kind = criterion["evidence"]
        if kind not in EVIDENCE_FIELDS:
            continue  # ETH-32: the écoscore section is its evidence
        values = {name: fields.get(f"evidence.{criterion_id}.{name}", "").strip() for name in EVIDENCE_FIELDS[kind]}
        if any(values.values()):
            evidence[criterion_id] = {"kind": kind, **{k: v for k, v in values.items() if v}}
    document["evidence"] = evidence
    steps = [{k: (_number(v) if k != "name" else v) for k, v in row.items() if v}
             for row in _rows(fields, "ecoscore.journey", STEP_FIELDS)]
    if steps:
        document.setdefault("ecoscore", {})["journey"] = steps
    return document


def form_from_document(document: Mapping[str, Any]) -> Tuple[Dict[str, str], Dict[str, int]]:
    """The form's values (name -> text) for a document, and how many rows each list gets."""
    values: Dict[str, str] = {}

    def flat(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                flat(child, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) or value is None:
            return
        elif isinstance(value, bool):
            values[path] = "yes" if value else ""
        elif isinstance(value, float):
            values[path] = f"{value:g}"
        else:
            values[path] = str(value)

    flat({k: v for k, v in document.items() if k not in ("scopes", "evidence")}, "")
    values["redirect_uris"] = "\n".join(str(uri) for uri in document.get("redirect_uris") or [])
    for platform in document.get("platforms") or []:
        values[f"platforms.{platform}"] = "yes"
    for item in document.get("scopes") or []:
        if isinstance(item, dict) and item.get("scope"):
            values[f"scope.{item['scope']}"] = "yes"
            flat({k: v for k, v in item.items() if k != "scope"}, f"scope.{item['scope']}")
    for criterion_id, item in (document.get("evidence") or {}).items():
        if isinstance(item, dict):
            flat({k: v for k, v in item.items() if k != "kind"}, f"evidence.{criterion_id}")
    parties = document.get("third_parties") or []
    for index, party in enumerate(parties if isinstance(parties, list) else []):
        flat(party, f"third_parties.{index}")
    journey = (document.get("ecoscore") or {}).get("journey") or []
    for index, step in enumerate(journey if isinstance(journey, list) else []):
        flat(step, f"ecoscore.journey.{index}")
    rows = {"third_parties": max(len(parties) + EXTRA_ROWS, 3), "journey": max(len(journey) + EXTRA_ROWS, 6)}
    return values, rows


def field_of(pointer: str, document: Mapping[str, Any]) -> str:
    """The form field a failure's JSON pointer is about (a dotted name, as the form names it)."""
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.strip("/").split("/")] if pointer else []
    if not parts:
        return ""
    head = parts[0]
    if head == "scopes" and len(parts) >= 2 and parts[1].isdigit():
        scopes = document.get("scopes") or []
        index = int(parts[1])
        scope = scopes[index].get("scope") if index < len(scopes) and isinstance(scopes[index], dict) else None
        return ".".join(["scope", str(scope), *parts[2:]]) if scope else "scopes"
    if head in ("redirect_uris", "platforms") or (head == "client" and parts[-1] != "jwks_uri"):
        return "client.type" if head == "client" else head
    return ".".join(parts)


_PLAIN = (("is a required property", "required"), ("does not match", "format"), ("is not a '", "format"),
          ("is too short", "too_short"), ("should be non-empty", "too_short"), ("is too long", "too_long"),
          ("expected a maximum", "too_long"), ("is not of type 'number'", "number"), ("is not of type", "format"),
          ("is not one of", "choice"), ("must be one of", "choice"), ("is not valid under any", "choice"),
          ("less than the minimum", "range"), ("greater than the maximum", "range"), ("non-unique", "unique"),
          ("not a valid SIRET", "siret"), ("must be the SIRET of your organisation", "siret_other"),
          ("unknown category", "choice"), ("mandatory criterion without evidence", "evidence_missing"),
          ("HDS certificate expired", "certificate_expired"), ("penetration test must be dated", "pentest_old"),
          ("audience-tracking third parties", "tracker"), ("unknown scope", "choice"),
          ("scope requested twice", "unique"), ("offline access only makes sense", "offline"),
          ("journey needs at least 3 steps", "journey_short"))


def plain_key(message: str) -> str:
    """The messages.json key of a failure's plain sentence (portal.problem.*)."""
    return "portal.problem." + next((key for text, key in _PLAIN if text in message), "other")


def problems(failures: List[Dict[str, Any]], document: Mapping[str, Any],
             referential: Referential) -> Tuple[List[Dict[str, Any]], Dict[str, List[Dict[str, Any]]]]:
    """Each failure with its field, criterion and plain sentence; and the same by field."""
    shown, by_field = [], {}  # type: Tuple[List[Dict[str, Any]], Dict[str, List[Dict[str, Any]]]]
    for failure in failures:
        criterion: Optional[Dict[str, Any]] = referential.criteria.get(failure.get("criterion") or "")
        item = {**failure, "field": field_of(str(failure.get("pointer", "")), document),
                "plain": plain_key(str(failure.get("message", ""))),
                "criterion_title": criterion["title"] if criterion else None}
        shown.append(item)
        by_field.setdefault(item["field"], []).append(item)
        if item["field"].startswith("evidence.") and item["field"].count(".") > 1:
            by_field.setdefault(".".join(item["field"].split(".")[:2]), [])
    return shown, by_field

"""FHIR search parameters, turned into one DynamoDB Query on the citizen's partition.

A search by code (Observation `code`, DocumentReference `type`) reads the by-code index from
`<type>#<code>#`; any other reads the by-date index from `<type>#`; both narrowed by `date` to a
key range. Category (within what the token's scopes grant), status, and the documents the citizen
hid are filters on the page read. The plan carries all of it, so that the FHIR service only runs
it (records/queries.py). Pages follow DynamoDB's own paging, `_count` items read per page, so a
page costs the same in a record of 100 or 10,000 entries."""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from chalicelib import cursors
from chalicelib.errors import InvalidRequest
from chalicelib.records.queries import RecordQuery

DEFAULT_COUNT, MAX_COUNT = 20, 100
COMMON = {"patient", "subject", "_count", "_cursor", "_format"}
PARAMETERS = {
    "DocumentReference": {"type", "category", "date", "status"},
    "Observation": {"code", "category", "date"},
    "Appointment": {"date", "status"},
}
CODE_PARAMETER = {"DocumentReference": "type", "Observation": "code"}
_PREFIXES = ("eq", "ge", "le", "gt", "lt")
YEARS = (1800, 3000)  # the dates a record holds; outside, a date is a typing error (and keys stay 4-digit)


@dataclass
class SearchPlan(RecordQuery):
    """The query a FHIR search runs, with what the answer's links need."""

    patient_matches: bool = True
    cursor: Optional[str] = None
    echo: List[Tuple[str, str]] = field(default_factory=list)  # the parameters applied, for links

    @property
    def searchable(self) -> bool:
        """Whether anything can match, for this token's patient: else no read at all."""
        return self.patient_matches and self.can_match


def _bad(message: str, parameter: str) -> InvalidRequest:
    return InvalidRequest(message, [{"parameter": parameter, "message": message}])


def _token(value: str, parameter: str) -> str:
    """A token parameter: `code` or `system|code`; the system is implied by the resource."""
    code = value.rpartition("|")[2]
    if not code or len(code) > 64 or "," in code:
        raise _bad(f"'{parameter}' takes one code (system|code or code).", parameter)
    return code


def _period(value: str) -> Tuple[str, datetime, datetime]:
    """`ge2026-01-15` → ('ge', start of that day, start of the next day), in UTC."""
    prefix = value[:2] if value[:2] in _PREFIXES else "eq"
    text = value[2:] if value[:2] in _PREFIXES else value
    try:
        if len(text) == 4:
            start = datetime(int(text), 1, 1, tzinfo=timezone.utc)
            end = datetime(int(text) + 1, 1, 1, tzinfo=timezone.utc)
        elif len(text) == 7:
            year, month = int(text[:4]), int(text[5:7])
            start = datetime(year, month, 1, tzinfo=timezone.utc)
            end = start + timedelta(days=calendar.monthrange(year, month)[1])
        elif len(text) == 10:
            start = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
            end = start + timedelta(days=1)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError
            start = moment.astimezone(timezone.utc).replace(microsecond=0)
            end = start + timedelta(seconds=1)
        if not (YEARS[0] <= start.year and end.year <= YEARS[1]):
            raise ValueError
    except (ValueError, OverflowError):
        raise _bad(f"'date' value '{value[:40]}' is not a FHIR date of years {YEARS[0]}-{YEARS[1] - 1} "
                   "(e.g. ge2026-01-15).", "date") from None
    return prefix, start, end


def page_size(single: Mapping[str, str]) -> int:
    """`_count` (default 20, at most 100), after checking `_format` asks for JSON: the parameters
    every paged answer shares (searches, `$everything`)."""
    if "_format" in single and single["_format"] not in ("json", "application/json", "application/fhir+json"):
        raise _bad("Only JSON is served (_format=json).", "_format")
    if "_count" not in single:
        return DEFAULT_COUNT
    try:
        count = int(single["_count"])
    except ValueError:
        raise _bad("'_count' must be a whole number.", "_count") from None
    if count < 1:
        raise _bad("'_count' must be at least 1.", "_count")
    return min(count, MAX_COUNT)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_search(resource_type: str, params: Mapping[str, Sequence[str]], pairwise_id: str, lenient: bool,
                fhir_base_url: str, granted: Optional[FrozenSet[str]] = None) -> SearchPlan:
    allowed = COMMON | PARAMETERS[resource_type]
    unknown = sorted(name for name in params if name not in allowed)
    if unknown and not lenient:
        raise InvalidRequest(
            f"Unknown search parameter(s) for {resource_type}: {', '.join(unknown)} "
            f"(send 'Prefer: handling=lenient' to have them ignored).",
            [{"parameter": name, "message": f"supported: {', '.join(sorted(allowed))}"} for name in unknown])
    single = {}
    for name, values in params.items():
        if name in unknown:
            continue
        if name != "date" and len(values) > 1:
            raise _bad(f"'{name}' may be given once.", name)
        single[name] = values[0]
    echo: List[Tuple[str, str]] = []

    patient_matches = True
    for name in ("patient", "subject"):
        if name in single:
            reference = single[name]
            for prefix in (f"{fhir_base_url}/Patient/", "Patient/"):
                if reference.startswith(prefix):
                    reference = reference[len(prefix):]
            patient_matches = patient_matches and reference == pairwise_id
            echo.append((name, single[name]))

    count = page_size(single)
    echo.append(("_count", str(count)))

    low, high = "", "~"
    for value in params.get("date", []):
        prefix, start, end = _period(value)
        echo.append(("date", value))
        if prefix in ("eq", "ge"):
            low = max(low, _stamp(start))
        if prefix == "gt":
            low = max(low, _stamp(end))
        if prefix in ("eq", "le"):
            high = min(high, _stamp(end))
        if prefix == "lt":
            high = min(high, _stamp(start))

    code_parameter = CODE_PARAMETER.get(resource_type)
    if code_parameter and code_parameter in single:
        code = _token(single[code_parameter], code_parameter)
        echo.append((code_parameter, single[code_parameter]))
        index, prefix = "by-code", f"{resource_type}#{code}#"
    else:
        index, prefix = "by-date", f"{resource_type}#"
    categories = statuses = None
    if "category" in single:
        categories = [_token(single["category"], "category")]
        echo.append(("category", single["category"]))
    if "status" in single:
        statuses = [value for value in single["status"].split(",") if value]
        if not statuses or len(statuses) > 10:
            raise _bad("'status' takes one to ten statuses, comma-separated.", "status")
        echo.append(("status", single["status"]))
    if granted is not None:  # the categories the token's scopes allow, and within them those asked
        categories = sorted(set(categories or granted) & granted)
    # `high` is exclusive: every key at that instant is `<prefix><high>#<id>`, above `<prefix><high>`.
    return SearchPlan(resource_type, index, prefix + low, prefix + high, count, categories, statuses,
                      visible_only=resource_type == "DocumentReference", patient_matches=patient_matches,
                      cursor=single.get("_cursor"), echo=echo)


def encode_cursor(last_key: Mapping[str, Mapping[str, str]], index_key: str) -> str:
    return cursors.encode({"k": last_key["item_key"]["S"], "i": last_key[index_key]["S"]})


def decode_cursor(plan: SearchPlan, patient_id: str) -> Optional[Dict[str, Dict[str, str]]]:
    """The position to resume from; only inside this search's key range, in the token's partition."""
    if plan.cursor is None:
        return None
    try:
        position = cursors.decode(plan.cursor)
    except cursors.InvalidCursor:
        position = {}
    item_key, index_value = position.get("k"), position.get("i")
    if not (isinstance(item_key, str) and isinstance(index_value, str)) or \
            len(item_key.encode()) + len(index_value.encode()) > 600:  # DynamoDB's keys: bytes
        raise _bad("'_cursor' is not a cursor of this search.", "_cursor")
    if not plan.fits(index_value) or not item_key.startswith(f"{plan.resource_type}#"):
        raise _bad("'_cursor' is not a cursor of this search.", "_cursor")
    return {"patient_id": {"S": patient_id}, "item_key": {"S": item_key}, plan.index_key: {"S": index_value}}

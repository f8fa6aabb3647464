"""`Patient/{id}/$everything`: its parameters and cursor turned into a plan, and the page it reads.

What the token may see comes in a fixed order: the Patient (first page only, if the token reads
Patient), then DocumentReference, Observation and Appointment, each if the token searches it,
within its granted categories, newest first, the documents the citizen hid left out by DynamoDB.

A page costs what a search page costs, plus at most two Queries: the gate's round trip 1 (the
BatchGetItem of the checks, with the Patient on the first page) while its second thread runs the
page's Queries one after the other, then the audit entry. The page is filled across types: when a
type's Query ends with room left on the page, the next type's Query runs with what is left. So a
page makes at most one Query per type, each reading at most `_count + 1` items, whatever the size
of the record. The cursor holds the type the next page starts in and DynamoDB's own position
there; it is checked to lie in that type's key range, and the partition always comes from the
token (as fhir/search.py does)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from chalicelib import cursors
from chalicelib.dynamodb import Key
from chalicelib.errors import InvalidRequest
from chalicelib.fhir.access import Permission
from chalicelib.fhir.search import YEARS, page_size
from chalicelib.records.models import RecordRow
from chalicelib.records.queries import RecordQuery, run_page

OPERATION = "$everything"
DEFINITION = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
TYPES = ("DocumentReference", "Observation", "Appointment")  # the order of the answer, after the Patient
PARAMETERS = {"_since", "_count", "_cursor", "_format"}
_INSTANT = re.compile(r"(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}))?")


@dataclass
class EverythingPlan:
    """What one page of $everything reads: the Patient or not, then the types' queries from where
    the cursor says."""

    count: int
    since: Optional[datetime]
    patient: bool  # the Patient entry belongs to this page (the first, and the token reads Patient)
    queries: Dict[int, RecordQuery]  # index in TYPES -> its query, for each type the token searches
    start_type: int = 0
    start_key: Optional[Key] = None
    cursor: Optional[str] = None
    echo: List[Tuple[str, str]] = field(default_factory=list)  # the parameters applied, for links

    def shows_patient(self, last_updated: datetime) -> bool:
        return self.since is None or last_updated >= self.since


def _bad(message: str, parameter: str) -> InvalidRequest:
    return InvalidRequest(message, [{"parameter": parameter, "message": message}])


def parse_since(value: str) -> datetime:
    """A FHIR instant (`2026-11-20T09:00:00Z`, `...T10:00:00.5+01:00`) or a date (`2026-11-20`, from
    the start of that day in UTC), as a UTC datetime to the microsecond."""
    match = _INSTANT.fullmatch(value)
    try:
        if match is None:
            raise ValueError
        day, clock, fraction, zone = match.groups()
        if clock is None:
            moment = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
        else:
            micro = (fraction or "").ljust(6, "0")[:6]
            moment = datetime.fromisoformat(f"{day}T{clock}.{micro}{'+00:00' if zone == 'Z' else zone}")
        moment = moment.astimezone(timezone.utc)
        if not YEARS[0] <= moment.year < YEARS[1]:
            raise ValueError
    except (ValueError, OverflowError):
        raise _bad(f"'_since' value '{value[:40]}' is not a FHIR instant (e.g. 2026-11-20T09:00:00Z) "
                   f"or date of years {YEARS[0]}-{YEARS[1] - 1}.", "_since") from None
    return moment


def plan_everything(params: Mapping[str, Sequence[str]], lenient: bool, patient: Optional[Permission],
                    granted: Mapping[str, Permission]) -> EverythingPlan:
    """The page to read, from the request's parameters and what the token allows (`patient`: its
    permission to read Patient, or None; `granted`: its search permission per type it covers).
    A bad parameter or a cursor this operation did not make is a 400, before anything is read."""
    unknown = sorted(name for name in params if name not in PARAMETERS)
    if unknown and not lenient:
        raise InvalidRequest(
            f"Unknown parameter(s) for $everything: {', '.join(unknown)} "
            f"(send 'Prefer: handling=lenient' to have them ignored).",
            [{"parameter": name, "message": f"supported: {', '.join(sorted(PARAMETERS))}"} for name in unknown])
    single: Dict[str, str] = {}
    for name, values in params.items():
        if name in unknown:
            continue
        if len(values) > 1:
            raise _bad(f"'{name}' may be given once.", name)
        single[name] = values[0]
    echo: List[Tuple[str, str]] = []
    count = page_size(single)
    echo.append(("_count", str(count)))
    since = None
    if "_since" in single:
        since = parse_since(single["_since"])
        echo.append(("_since", single["_since"]))
    queries = {}
    for index, resource_type in enumerate(TYPES):
        if resource_type in granted:
            categories = granted[resource_type].categories
            queries[index] = RecordQuery(resource_type, "by-date", f"{resource_type}#", f"{resource_type}#~", count,
                                         None if categories is None else sorted(categories),
                                         visible_only=resource_type == "DocumentReference", updated_since=since)
    plan = EverythingPlan(count, since, patient is not None and "_cursor" not in single, queries,
                          start_type=min(queries, default=len(TYPES)), cursor=single.get("_cursor"), echo=echo)
    if plan.cursor is not None:
        plan.start_type, plan.start_key = decode_cursor(plan.cursor, queries)
    return plan


def encode_cursor(type_index: int, last_key: Optional[Mapping[str, Mapping[str, str]]]) -> str:
    """Where the next page starts: a type, and DynamoDB's position in it (none: from its newest)."""
    position: Dict[str, object] = {"t": type_index}
    if last_key is not None:
        position.update(k=last_key["item_key"]["S"], i=last_key["date_key"]["S"])
    return cursors.encode(position)


def decode_cursor(cursor: str, queries: Mapping[int, RecordQuery]) -> Tuple[int, Optional[Key]]:
    """The type to resume in, one this token searches, and the position in it, only inside that
    type's key range; without the partition, which is always the token's."""
    try:
        position = cursors.decode(cursor)
    except cursors.InvalidCursor:
        position = {}
    type_index, item_key, index_value = position.get("t"), position.get("k"), position.get("i")
    invalid = _bad("'_cursor' is not a cursor of this $everything.", "_cursor")
    if type(type_index) is not int or type_index not in queries or set(position) - {"t", "k", "i"}:
        raise invalid
    if item_key is None and index_value is None:
        return type_index, None
    query = queries[type_index]
    if not (isinstance(item_key, str) and isinstance(index_value, str)) or \
            len(item_key.encode()) + len(index_value.encode()) > 600:  # DynamoDB's keys: bytes
        raise invalid
    if not query.fits(index_value) or not item_key.startswith(f"{query.resource_type}#"):
        raise invalid
    return type_index, {"item_key": {"S": item_key}, "date_key": {"S": index_value}}


def read_page(patient_id: str, plan: EverythingPlan) -> Tuple[List[RecordRow], Optional[str]]:
    """The page's rows, in the answer's order, and the cursor of the next page (None at the end).
    At most one Query per type, each asked for what is left of the page (it reads one more item,
    which tells whether the type goes on)."""
    rows: List[RecordRow] = []
    room = plan.count - (1 if plan.patient else 0)  # the Patient, read by the gate, takes one place
    start = plan.start_key
    for index in sorted(i for i in plan.queries if i >= plan.start_type):
        if room == 0:
            return rows, encode_cursor(index, None)
        position = None if start is None else {"patient_id": {"S": patient_id}, **start}
        found, last_key = run_page(patient_id, replace(plan.queries[index], count=room), position)
        rows += found
        room -= len(found)
        if last_key is not None:
            return rows, encode_cursor(index, last_key)
        start = None
    return rows, None

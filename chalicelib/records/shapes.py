"""The shapes of FHIR elements that the record accepts, and the collector of what is wrong with a
resource: the rules that do not depend on the resource type (records/resources.py has those)."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from chalicelib.errors import DomainError

MAX_TEXT = 10_000
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$")


class InvalidResource(DomainError):
    """422: the resource breaks a rule; each detail names the failing element (FHIRPath)."""

    status, code = 422, "validation_failed"



class Problems:
    """Collects every problem in a resource, so that one answer lists them all."""

    def __init__(self, resource_type: str) -> None:
        self.resource_type = resource_type
        self.details: List[Dict[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.details.append({"pointer": f"{self.resource_type}.{path}" if path else self.resource_type,
                             "message": message})

    def raise_any(self) -> None:
        if self.details:
            raise InvalidResource(f"The {self.resource_type} is invalid: {self.details[0]['message']}",
                                  self.details)


def utc_instant(value: str) -> Optional[datetime]:
    """A FHIR dateTime with a time zone, or a date (taken as midnight UTC), of a plausible year."""
    if not isinstance(value, str):
        return None
    moment = None
    try:
        if _DATE.match(value):
            parts = [int(p) for p in value.split("-")] + [1, 1]
            moment = datetime(parts[0], parts[1], parts[2], tzinfo=timezone.utc)
        elif _DATETIME.match(value):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    return moment if moment is not None and 1800 <= moment.year < 3000 else None


def date_key(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Elements accepted on each type. Those with a shape here are checked by it (the others are checked
# by the type's own rules above), so that nothing an app writes can make a resource invalid R4.
ELEMENTS = {
    "DocumentReference": {"resourceType", "id", "meta", "text", "status", "type", "category", "subject", "date",
                          "author", "description", "securityLabel", "content", "identifier", "docStatus"},
    "Observation": {"resourceType", "id", "meta", "text", "status", "category", "code", "subject",
                    "effectiveDateTime", "valueQuantity", "component", "note", "device", "identifier",
                    "method", "bodySite", "issued"},
    "Appointment": {"resourceType", "id", "meta", "text", "status", "serviceType", "serviceCategory",
                    "appointmentType", "description", "start", "end", "minutesDuration", "participant",
                    "comment", "identifier", "created", "reasonCode", "cancelationReason", "patientInstruction"},
}
SHAPES = {
    "identifier": "identifiers", "note": "annotations", "device": "reference", "method": "concept",
    "bodySite": "concept", "issued": "instant", "docStatus": "code:preliminary|final|amended|entered-in-error",
    "serviceCategory": "concepts", "appointmentType": "concept", "minutesDuration": "positive",
    "created": "instant", "reasonCode": "concepts", "cancelationReason": "concept",
    "patientInstruction": "string",
}


def is_string(value: Any, limit: int = MAX_TEXT) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit and bool(value.strip())


def is_concept(value: Any) -> bool:
    if not isinstance(value, dict) or not set(value) <= {"coding", "text"} or not value:
        return False
    if "text" in value and not is_string(value["text"], 1000):
        return False
    codings = value.get("coding", [])
    return isinstance(codings, list) and all(
        isinstance(c, dict) and c and set(c) <= {"system", "code", "display", "version"}
        and all(is_string(v, 1000) for v in c.values()) for c in codings)


def shape_problem(shape: str, value: Any) -> Optional[str]:
    """What is wrong with an element of a simple shape, or None."""
    if shape == "string":
        return None if is_string(value) else "must be a non-empty string"
    if shape == "instant":
        return None if isinstance(value, str) and _DATETIME.match(value) and utc_instant(value) else \
            "must be a dateTime with a time zone"
    if shape == "positive":
        return None if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 100_000 else \
            "must be a positive whole number"
    if shape.startswith("code:"):
        return None if value in shape[5:].split("|") else f"must be one of: {shape[5:].replace('|', ', ')}"
    if shape == "concept":
        return None if is_concept(value) else "must be a CodeableConcept (coding and/or text)"
    if shape == "concepts":
        return None if isinstance(value, list) and value and all(is_concept(v) for v in value) else \
            "must be a list of CodeableConcepts"
    if shape == "reference":
        return None if isinstance(value, dict) and value and set(value) <= {"reference", "display"} and all(
            is_string(v, 1000) for v in value.values()) else "must be a Reference (reference and/or display)"
    if shape == "references":
        return None if isinstance(value, list) and value and all(
            shape_problem("reference", v) is None for v in value) else "must be a list of References"
    if shape == "identifiers":
        return None if isinstance(value, list) and value and all(
            isinstance(v, dict) and v and set(v) <= {"system", "value"} and all(is_string(x, 1000) for x in v.values())
            for v in value) else "must be a list of Identifiers (system, value)"
    if shape == "annotations":
        return None if isinstance(value, list) and value and all(
            isinstance(v, dict) and set(v) == {"text"} and is_string(v["text"]) for v in value) else \
            "must be a list of Annotations ({\"text\": ...})"
    raise ValueError(shape)

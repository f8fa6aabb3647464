"""The FHIR R4 resources of the record: what an app may write (checked), how they are stored and
indexed, and how they are shown back, under the pairwise patient id the app knows.

Stored resources carry no id, meta or patient id: references to the patient are kept as
`Patient/$self` and become `Patient/<pairwise id>` for each app that reads them.

Longer than 300 lines: one checker per writable resource type, found through an explicit table;
the element shapes they share are in records/shapes.py, the terminology in chalicelib/terminology.py."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple, Union

from chalicelib.records.shapes import (ELEMENTS, MAX_TEXT, SHAPES, InvalidResource, Problems, date_key,
                                       is_concept, is_string, shape_problem, utc_instant)
from chalicelib.terminology import Terminology

SELF = "Patient/$self"
RESOURCE_TYPES = ("DocumentReference", "Observation", "Appointment", "Patient")
WRITABLE = ("DocumentReference", "Observation", "Appointment")
# Document content up to this size (decoded, and 128 KB for all of a resource's) sits in the record;
# larger content goes to S3 and is served through short-lived pre-signed URLs. A resource as stored
# stays far below DynamoDB's 400 KB.
INLINE_CONTENT_BYTES = 64 * 1024
INLINE_BUDGET_BYTES = 128 * 1024  # all of one resource's inline contents together
MAX_CONTENT_BYTES = 4 * 1024 * 1024  # within Lambda's 6 MB request limit once in base64
MAX_STORED_BYTES = 300 * 1024
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def is_resource_id(value: str) -> bool:
    return bool(_ID.match(value or ""))


@dataclass
class Indexed:
    """A checked resource as stored, with what searches need."""

    resource: Dict[str, Any]
    date: str  # UTC, `YYYY-MM-DDTHH:MM:SSZ`
    code: Optional[str] = None
    category: Optional[str] = None
    status: Optional[str] = None
    content: List[Tuple[int, bytes]] = field(default_factory=list)  # (index, bytes) to put in S3


class Codec:
    """Checks incoming resources and shows stored ones, for one deployment's terminology."""

    def __init__(self, terminology: Terminology, fhir_base_url: str) -> None:
        self.terminology, self.fhir_base_url = terminology, fhir_base_url

    # -- patient references ---------------------------------------------------------------

    def _to_self(self, value: Any, pairwise_id: str, problems: Problems, path: str = "") -> Any:
        """References to the app's patient become `Patient/$self`; another patient's, a problem."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                child = f"{path}.{key}" if path else key
                if key == "reference" and isinstance(item, str) and "Patient/" in item:
                    if item in (f"Patient/{pairwise_id}", f"{self.fhir_base_url}/Patient/{pairwise_id}"):
                        out[key] = SELF
                    else:
                        problems.add(child, "Only the patient of the access token may be referenced.")
                        out[key] = item
                else:
                    out[key] = self._to_self(item, pairwise_id, problems, child)
            return out
        if isinstance(value, list):
            return [self._to_self(item, pairwise_id, problems, f"{path}[{i}]") for i, item in enumerate(value)]
        return value

    @staticmethod
    def _from_self(value: Any, pairwise_id: str) -> Any:
        """A copy of a stored resource (or of its JSON text, as a page of search reads it) with the
        token's patient in place of `Patient/$self`."""
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return json.loads(text.replace(json.dumps(SELF), json.dumps(f"Patient/{pairwise_id}")))

    # -- writing --------------------------------------------------------------------------

    def check(self, resource_type: str, body: Any, pairwise_id: str, now: datetime) -> Indexed:
        if resource_type not in WRITABLE:
            raise InvalidResource(f"{resource_type} cannot be written through this API.")
        if not isinstance(body, dict):
            raise InvalidResource("The body must be a FHIR resource (a JSON object).")
        problems = Problems(resource_type)
        if body.get("resourceType") != resource_type:
            problems.add("resourceType", f"resourceType must be '{resource_type}'.")
            problems.raise_any()
        allowed = ELEMENTS[resource_type]
        for name in body:
            if name not in allowed:
                problems.add(name, f"'{name}' is not an element this server accepts on {resource_type} "
                                   f"(accepted: {', '.join(sorted(allowed))}).")
        resource = {k: v for k, v in body.items() if k not in ("resourceType", "id", "meta", "text")}
        resource = self._to_self(resource, pairwise_id, problems)
        for name, shape in SHAPES.items():
            if name in resource and name in allowed:
                problem = shape_problem(shape, resource[name])
                if problem:
                    problems.add(name, f"'{name}' {problem}.")
        checker = {"DocumentReference": self._check_document_reference, "Observation": self._check_observation,
                   "Appointment": self._check_appointment}[resource_type]
        indexed = checker(resource, problems, now)
        problems.raise_any()
        if len(json.dumps(indexed.resource)) > MAX_STORED_BYTES:
            raise InvalidResource(f"The {resource_type} is too large once stored (at most {MAX_STORED_BYTES} bytes).")
        return indexed

    def _coding(self, value: Any, path: str, problems: Problems, system: str, known: Dict[str, Any],
                what: str) -> Optional[str]:
        """The code of the first coding in `system`, which must be one of `known`."""
        codings = value.get("coding") if is_concept(value) else None
        if not isinstance(codings, list) or not codings:
            problems.add(path, f"{what} needs a coding from {system}.")
            return None
        for index, coding in enumerate(codings):
            if isinstance(coding, dict) and coding.get("system") == system:
                code = coding.get("code")
                if code not in known:
                    problems.add(f"{path}.coding[{index}].code", f"'{str(code)[:40]}' is not a {what} this "
                                 f"server knows (known: {', '.join(sorted(known))}).")
                    return None
                return code
        problems.add(f"{path}.coding", f"{what} needs a coding from {system}.")
        return None

    def _text(self, resource: Dict[str, Any], name: str, problems: Problems, required: bool = False) -> None:
        value = resource.get(name)
        if value is None:
            if required:
                problems.add(name, f"'{name}' is required.")
            return
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            problems.add(name, f"'{name}' must be a non-empty string of at most {MAX_TEXT} characters.")

    def _status(self, resource: Dict[str, Any], allowed: Tuple[str, ...], problems: Problems) -> Optional[str]:
        status = resource.get("status")
        if status not in allowed:
            problems.add("status", f"status is required, one of: {', '.join(allowed)}.")
            return None
        return status

    def _instant(self, resource: Dict[str, Any], name: str, problems: Problems, required: bool) -> Optional[datetime]:
        if name not in resource:
            if required:
                problems.add(name, f"'{name}' is required.")
            return None
        moment = utc_instant(resource[name])
        if moment is None:
            problems.add(name, f"'{name}' must be a FHIR dateTime with a time zone, e.g. 2026-11-02T08:30:00+01:00.")
        return moment

    def _check_document_reference(self, resource: Dict[str, Any], problems: Problems, now: datetime) -> Indexed:
        systems = self.terminology.systems
        status = self._status(resource, ("current", "superseded", "entered-in-error"), problems)
        code = self._coding(resource.get("type"), "type", problems, systems["loinc"],
                            self.terminology.document_types, "document type")
        category = self.terminology.document_types[code]["category"] if code else None
        if "category" in resource:
            categories = resource["category"]
            if isinstance(categories, list) and 0 < len(categories) <= 5:
                for index, concept in enumerate(categories):  # every one, not the first only
                    given = self._coding(concept, f"category[{index}]", problems, systems["document_category"],
                                         self.terminology.document_categories, "document category")
                    if given and category and given != category:
                        problems.add(f"category[{index}]", f"A document of type {code} is filed under '{category}'.")
            else:
                problems.add("category", "category must be a list of one to five CodeableConcepts.")
        elif category:
            resource["category"] = [self._category_concept(category)]
        moment = self._instant(resource, "date", problems, required=False) or now
        resource.setdefault("date", date_key(moment).replace("Z", "+00:00"))
        self._text(resource, "description", problems)
        if "author" in resource and (shape_problem("references", resource["author"]) or not all(
                "display" in author for author in resource["author"])):
            problems.add("author", "author must be a list of references with a display (the author's name).")
        if "securityLabel" in resource and shape_problem("concepts", resource["securityLabel"]):
            problems.add("securityLabel", "securityLabel must be a list of CodeableConcepts (confidentiality).")
        subject = resource.get("subject")
        if subject is not None and subject != {"reference": SELF}:
            problems.add("subject", "subject, if given, must be the patient of the access token.")
        resource.pop("subject", None)
        content = resource.get("content")
        to_store: List[Tuple[int, bytes]] = []
        if not isinstance(content, list) or not content or len(content) > 5:
            problems.add("content", "content is required: one to five attachments.")
        else:
            contents = [(index, self._attachment(entry, f"content[{index}].attachment", problems))
                        for index, entry in enumerate(content)]
            # Smallest first stay inline, within a budget per resource, so that the item never
            # nears DynamoDB's 400 KB whatever the mix; the rest goes to S3.
            inline = 0
            present = [(index, data) for index, data in contents if data is not None]
            for index, data in sorted(present, key=lambda c: len(c[1])):
                if len(data) <= INLINE_CONTENT_BYTES and inline + len(data) <= INLINE_BUDGET_BYTES:
                    inline += len(data)
                else:
                    content[index]["attachment"].pop("data")
                    to_store.append((index, data))
        return Indexed(resource, date_key(moment), code, category, status, to_store)

    def _category_concept(self, category: str) -> Dict[str, Any]:
        entry = self.terminology.document_categories[category]
        return {"coding": [{"system": self.terminology.systems["document_category"], "code": category,
                            "display": entry["label"]["fr"]}]}

    def _attachment(self, entry: Any, path: str, problems: Problems) -> Optional[bytes]:
        attachment = entry.get("attachment") if isinstance(entry, dict) and set(entry) == {"attachment"} else None
        if not isinstance(attachment, dict):
            problems.add(path, "Each content is {\"attachment\": {...}}.")
            return None
        extra = set(attachment) - {"contentType", "data", "size", "hash", "title", "language", "creation", "url"}
        if extra:
            problems.add(path, f"Unknown attachment element(s): {', '.join(sorted(extra))}.")
        for name, shape in (("language", "string"), ("creation", "instant")):
            if name in attachment and shape_problem(shape, attachment[name]):
                problems.add(f"{path}.{name}", f"{name} {shape_problem(shape, attachment[name])}.")
        if not isinstance(attachment.get("contentType"), str) or "/" not in attachment["contentType"]:
            problems.add(f"{path}.contentType", "contentType is required (a MIME type).")
        if "url" in attachment:
            problems.add(f"{path}.url", "Send the content itself in 'data' (base64); links to elsewhere are not kept.")
        if not isinstance(attachment.get("data"), str):
            problems.add(f"{path}.data", "data is required: the content, in base64.")
            return None
        try:
            data = base64.b64decode(attachment["data"], validate=True)
        except (binascii.Error, ValueError):
            problems.add(f"{path}.data", "data is not valid base64.")
            return None
        if len(data) > MAX_CONTENT_BYTES:
            problems.add(f"{path}.data", f"The content is {len(data)} bytes; at most {MAX_CONTENT_BYTES} are accepted.")
            return None
        digest = base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")  # noqa: S324 - FHIR's hash is SHA-1
        if "size" in attachment and attachment["size"] != len(data):
            problems.add(f"{path}.size", f"size says {attachment['size']} bytes; the data has {len(data)}.")
        if "hash" in attachment and attachment["hash"] != digest:
            problems.add(f"{path}.hash", "hash is not the SHA-1 of the data (base64).")
        if "title" in attachment and (not isinstance(attachment["title"], str) or len(attachment["title"]) > 500):
            problems.add(f"{path}.title", "title must be a string of at most 500 characters.")
        attachment["size"], attachment["hash"] = len(data), digest
        return data

    def _check_observation(self, resource: Dict[str, Any], problems: Problems, now: datetime) -> Indexed:
        systems = self.terminology.systems
        status = self._status(resource, ("registered", "preliminary", "final", "amended", "corrected",
                                         "cancelled", "entered-in-error"), problems)
        code = self._coding(resource.get("code"), "code", problems, systems["loinc"],
                            self.terminology.measures, "measure")
        measure = self.terminology.measures.get(code) if code else None
        category = measure["category"] if measure else None
        if measure:
            resource["category"] = [{"coding": [{"system": systems["observation_category"], "code": category}]}]
            if "components" in measure:
                self._components(resource, measure, problems)
            else:
                if "component" in resource:
                    problems.add("component", f"A {measure['id']} measure has no components.")
                self._quantity(resource.get("valueQuantity"), "valueQuantity", measure, problems)
        moment = self._instant(resource, "effectiveDateTime", problems, required=True)
        if moment is not None and moment > now.replace(microsecond=0).astimezone(timezone.utc) + _LEEWAY:
            problems.add("effectiveDateTime", "A measure cannot be taken in the future.")
        subject = resource.pop("subject", None)
        if subject is not None and subject != {"reference": SELF}:
            problems.add("subject", "subject, if given, must be the patient of the access token.")
        return Indexed(resource, date_key(moment or now), code, category, status)

    def _components(self, resource: Dict[str, Any], measure: Dict[str, Any], problems: Problems) -> None:
        if "valueQuantity" in resource:
            problems.add("valueQuantity", "A blood pressure goes in its components (systolic, diastolic).")
        components = resource.get("component")
        expected = {c["code"]: c for c in measure["components"]}
        if not isinstance(components, list) or not components:
            problems.add("component",
                         "component is required: " + ", ".join(c["display"] for c in measure["components"]))
            return
        seen = set()
        for index, component in enumerate(components):
            path = f"component[{index}]"
            if not isinstance(component, dict) or not set(component) <= {"code", "valueQuantity"}:
                problems.add(path, "A component has a code and a valueQuantity, and nothing else.")
                continue
            code = self._coding(component.get("code") if isinstance(component, dict) else None, f"{path}.code",
                                problems, self.terminology.systems["loinc"], expected, "component")
            if code:
                seen.add(code)
                self._quantity(component.get("valueQuantity"), f"{path}.valueQuantity", expected[code], problems)
        missing = set(expected) - seen
        if missing:
            problems.add("component", f"Missing component(s): {', '.join(sorted(missing))}.")

    def _quantity(self, quantity: Any, path: str, measure: Dict[str, Any], problems: Problems) -> None:
        if not isinstance(quantity, dict):
            problems.add(path, f"{path} is required, in {measure['unit']} (UCUM).")
            return
        extra = set(quantity) - {"value", "unit", "system", "code"}
        if extra:
            problems.add(path, f"Unknown Quantity element(s): {', '.join(sorted(extra))}.")
        if "unit" in quantity and not is_string(quantity["unit"], 100):
            problems.add(f"{path}.unit", "unit must be a string.")
        value = quantity.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.add(f"{path}.value", "value must be a number.")
        elif not measure["min"] <= value <= measure["max"]:
            problems.add(f"{path}.value", f"{value} {measure['unit']} is outside the plausible range "
                                          f"[{measure['min']}, {measure['max']}].")
        if quantity.get("system") != self.terminology.systems["ucum"]:
            problems.add(f"{path}.system", f"system must be {self.terminology.systems['ucum']} (UCUM).")
        if quantity.get("code") != measure["unit"]:
            problems.add(f"{path}.code", f"The unit must be the UCUM code '{measure['unit']}'.")
        quantity.setdefault("unit", measure["unit"])

    def _check_appointment(self, resource: Dict[str, Any], problems: Problems, now: datetime) -> Indexed:
        status = self._status(resource, ("proposed", "pending", "booked", "arrived", "fulfilled", "cancelled",
                                         "noshow", "entered-in-error", "checked-in", "waitlist"), problems)
        start = self._instant(resource, "start", problems, required=status not in ("proposed", "cancelled", "waitlist"))
        end = self._instant(resource, "end", problems, required=False)
        if start and end and end < start:
            problems.add("end", "end comes before start.")
        self._text(resource, "description", problems)
        self._text(resource, "comment", problems)
        if "serviceType" in resource and shape_problem("concepts", resource["serviceType"]):
            problems.add("serviceType", "serviceType must be a list of CodeableConcepts.")
        participants = resource.get("participant")
        if not isinstance(participants, list) or not participants:
            problems.add("participant", "participant is required (who takes part, and where).")
        else:
            for index, participant in enumerate(participants):
                path = f"participant[{index}]"
                if not isinstance(participant, dict) or participant.get("status") not in (
                        "accepted", "declined", "tentative", "needs-action"):
                    problems.add(f"{path}.status", "Each participant needs a status: accepted, declined, "
                                                   "tentative or needs-action.")
                    continue
                extra = set(participant) - {"actor", "status", "type", "required"}
                if extra:
                    problems.add(path, f"Unknown participant element(s): {', '.join(sorted(extra))}.")
                if "type" in participant and shape_problem("concepts", participant["type"]):
                    problems.add(f"{path}.type", "type must be a list of CodeableConcepts.")
                if "required" in participant and participant["required"] not in ("required", "optional",
                                                                                 "information-only"):
                    problems.add(f"{path}.required", "required must be required, optional or information-only.")
                actor = participant.get("actor")
                if actor is not None and shape_problem("reference", actor):
                    problems.add(f"{path}.actor", "actor needs a display (a name) or the patient's reference.")
                if actor is None and "type" not in participant:
                    problems.add(path, "A participant needs an actor or a type.")
        moment = start or now
        return Indexed(resource, date_key(moment), None, None, status)

    # -- reading --------------------------------------------------------------------------

    def show(self, resource_type: str, resource_id: str, stored: Union[Dict[str, Any], str], pairwise_id: str,
             version: int, last_updated: datetime, source: Optional[str]) -> Dict[str, Any]:
        """The resource as the app sees it: its id, meta, and its own patient id. `stored` is the
        resource as stored, or its JSON text (a page of search: parsed once, here)."""
        meta: Dict[str, Any] = {"versionId": str(version), "lastUpdated": last_updated.astimezone(timezone.utc)
                                .isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        if source:
            meta["source"] = source
        body = {"resourceType": resource_type, "id": resource_id, "meta": meta}
        if resource_type == "Patient":
            body.update(json.loads(stored) if isinstance(stored, str) else stored)
        else:
            shown = self._from_self(stored, pairwise_id)
            if resource_type in ("DocumentReference", "Observation"):
                shown["subject"] = {"reference": f"Patient/{pairwise_id}"}
            body.update(shown)
        return body


_LEEWAY = timedelta(minutes=5)  # clocks of devices differ a little

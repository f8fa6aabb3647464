"""The FHIR interactions on the citizen's record: read, search, $everything, create, update, delete,
and transaction Bundles; each one authorized and logged by the gate.

Longer than 300 lines: one method per FHIR interaction, each with the refusals the API must
answer; splitting them would scatter what one interaction guarantees."""
from __future__ import annotations

import json
import re
import secrets
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlencode

from pynamodb.exceptions import DoesNotExist

from chalicelib.errors import Forbidden, InvalidRequest, NotFound, PayloadTooLarge, PreconditionFailed
from chalicelib.fhir.access import AccessGrant, Permission, insufficient_scope
from chalicelib.fhir.everything import OPERATION, TYPES as EVERYTHING_TYPES, plan_everything, read_page
from chalicelib.fhir.gate import Gate, Write, WriteRefused
from chalicelib.records.resources import WRITABLE, Codec, Indexed, InvalidResource, is_resource_id
from chalicelib.fhir.search import decode_cursor, encode_cursor, plan_search
from chalicelib.records.documents import DocumentStore
from chalicelib.records.queries import run_page
from chalicelib.records.models import RecordItem, RecordRow
from chalicelib.clock import Clock

MAX_TRANSACTION_ENTRIES = 90  # DynamoDB takes 100 items per transaction; the audit entry is one more
MAX_TRANSACTION_BYTES = 3_500_000  # DynamoDB takes 4 MB per transaction, keys and audit entry included


def item_key(resource_type: str, resource_id: str) -> str:
    return f"{resource_type}#{resource_id}"


def etag(version: int) -> str:
    return f'W/"{version}"'


class FhirService:
    def __init__(self, codec: Codec, gate: Gate, documents: DocumentStore, clock: Clock,
                 public_base_url: str) -> None:
        self.codec, self.gate, self.documents, self.clock = codec, gate, documents, clock
        self.fhir_base_url = codec.fhir_base_url
        self.public_base_url = public_base_url

    # -- reading ---------------------------------------------------------------------------

    def read(self, grant: AccessGrant, resource_type: str, resource_id: str) -> Tuple[Dict[str, Any], int]:
        """A resource of the token's patient; anything else, hidden or outside the granted
        categories, answers as if it did not exist. Two round trips: the record with the checks,
        then the audit entry."""
        permission = self._permission(grant, resource_type, "read")
        key = None
        if resource_type == "Patient":
            key = "Patient#self" if resource_id == grant.pairwise_id else None
        elif is_resource_id(resource_id):
            key = item_key(resource_type, resource_id)
        item, _ = self.gate.admit(grant, "read", resource_type, resource_id[:64], record_key=key)
        if item is not None and (not grant.sees(item) or not permission.covers(item.category)):
            item = None
        self.gate.log(grant, "read", resource_type, resource_id[:64], count=1 if item else 0)
        if item is None:
            raise NotFound(f"{resource_type}/{resource_id[:64]} is not known.")
        return self._show(grant, item), int(item.version)

    def related_person(self, grant: AccessGrant, resource_id: str) -> Tuple[Dict[str, Any], int]:
        """`RelatedPerson/{id}`: the person acting for the patient (a legal representative, a
        proxy), as the ID token's `fhirUser` names them, for a token of theirs with the `fhirUser`
        scope; any other id is not known. Made from the consent the gate reads anyway."""
        if "fhirUser" not in grant.scope_text.split():
            self.gate.refuse(grant, "read", RELATED_PERSON, resource_id[:64], "scope")
            raise Forbidden("Reading the person who acts needs the fhirUser scope.")
        consent = self.gate.admit_consent(grant, "read", RELATED_PERSON, resource_id[:64])
        mine = grant.acting_as is not None and consent.given_by_ref is not None and consent.given_by_ref == resource_id
        self.gate.log(grant, "read", RELATED_PERSON, resource_id[:64], count=1 if mine else 0)
        if not mine:
            raise NotFound(f"{RELATED_PERSON}/{resource_id[:64]} is not known.")
        return related_person(resource_id, grant.pairwise_id, consent.given_by_name or "", grant.acting_as or ""), 1

    def search(self, grant: AccessGrant, resource_type: str, params: Mapping[str, Sequence[str]],
               lenient: bool) -> Dict[str, Any]:
        permission = self._permission(grant, resource_type, "search")
        plan = plan_search(resource_type, params, grant.pairwise_id, lenient, self.fhir_base_url,
                           permission.categories)
        plan.hide_from_representatives = plan.visible_only and grant.for_representative
        start = decode_cursor(plan, grant.patient_id) if plan.searchable else None  # forged: 400, no read

        def page() -> Tuple[List[RecordRow], Optional[str]]:
            """One Query of at most `_count + 1` items: run by the gate alongside its checks."""
            rows, last_key = run_page(grant.patient_id, plan, start)
            return rows, encode_cursor(last_key, plan.index_key) if last_key else None

        _, found = self.gate.admit(grant, "search", resource_type, alongside=page if plan.searchable else None)
        items, next_cursor = found or ([], None)
        self.gate.log(grant, "search", resource_type, None, count=len(items))
        return self._searchset(grant, f"{self.fhir_base_url}/{resource_type}", plan.echo, plan.cursor, next_cursor,
                               items)

    def everything(self, grant: AccessGrant, resource_id: str, params: Mapping[str, Sequence[str]],
                   lenient: bool) -> Dict[str, Any]:
        """`Patient/{id}/$everything`: a page of all the token may see of its patient (the Patient,
        then documents, measures, appointments), as a searchset Bundle; another id is a 404, as for
        a read. Logged and costed as a search page (fhir/everything.py)."""
        patient, granted = self._everything_permissions(grant)
        plan = plan_everything(params, lenient, patient, granted)  # bad parameter or forged cursor: 400, no read
        for query in plan.queries.values():
            query.hide_from_representatives = query.visible_only and grant.for_representative
        mine = resource_id == grant.pairwise_id
        item, found = self.gate.admit(grant, "everything", "Patient", resource_id[:64],
                                      record_key="Patient#self" if mine and plan.patient else None,
                                      alongside=(lambda: read_page(grant.patient_id, plan)) if mine and plan.queries
                                      else None)
        if not mine:
            self.gate.log(grant, "everything", "Patient", resource_id[:64], count=0)
            raise NotFound(f"Patient/{resource_id[:64]} is not known.")
        rows, next_cursor = found or ([], None)
        items: List[Union[RecordItem, RecordRow]] = list(rows)
        if item is not None and patient is not None and patient.covers(item.category) \
                and plan.shows_patient(item.last_updated):
            items.insert(0, item)
        self.gate.log(grant, "everything", "Patient", resource_id[:64], count=len(items))
        return self._searchset(grant, f"{self.fhir_base_url}/Patient/{resource_id}/{OPERATION}", plan.echo,
                               plan.cursor, next_cursor, items)

    # -- writing ---------------------------------------------------------------------------

    def create(self, grant: AccessGrant, resource_type: str, body: Any) -> Tuple[Dict[str, Any], int]:
        permission = self._permission(grant, resource_type, "create")
        indexed = self._checked(grant, resource_type, body, permission)
        resource_id = secrets.token_hex(16)
        self.gate.admit(grant, "create", resource_type, resource_id)
        item = self._item(grant, resource_type, resource_id, indexed, version=1)
        with self._content_of(item, indexed):
            try:
                self.gate.commit(grant, "create", resource_type, resource_id, count=1, writes=[
                    lambda t: t.save(item, condition=RecordItem.item_key.does_not_exist())])
            except WriteRefused:
                raise InvalidRequest("This resource id is taken; try again.") from None
        return self._show(grant, item), 1

    def update(self, grant: AccessGrant, resource_type: str, resource_id: str, body: Any,
               if_match: Optional[str]) -> Tuple[Dict[str, Any], int]:
        """Replace a resource the same app wrote. With `If-Match` the write is conditional on that
        version (412 when stale: one round trip); without, on the version read just before: never
        a lost update. A document is read first in any case, so that the contents in S3 that the
        new version replaces can be deleted once it is written."""
        permission = self._permission(grant, resource_type, "update")
        if isinstance(body, dict) and body.get("id") not in (None, resource_id):
            raise InvalidResource("The resource's id must be the id in the URL.",
                                  [{"pointer": f"{resource_type}.id", "message": "must match the URL"}])
        key = item_key(resource_type, resource_id) if is_resource_id(resource_id) else None
        read_first = if_match is None or resource_type == "DocumentReference" or key is None
        current, _ = self.gate.admit(grant, "update", resource_type, resource_id[:64],
                                     record_key=key if read_first else None)
        if read_first:
            current = self._own(grant, resource_type, resource_id, "update", permission, current)  # 404 or 403
        if if_match is not None:
            expected = _version_of(if_match)
        elif current is not None:  # read first, without If-Match: the version read
            expected = int(current.version)
        else:
            raise NotFound(f"{resource_type}/{resource_id[:64]} is not known.")
        if current is not None and int(current.version) != expected:
            raise self._stale(grant, resource_type, resource_id, expected)
        indexed = self._checked(grant, resource_type, body, permission)
        item = self._item(grant, resource_type, resource_id, indexed, version=expected + 1)
        condition = ((RecordItem.version == expected) & (RecordItem.source_app == grant.app_id)
                     & (RecordItem.hidden.does_not_exist() | (RecordItem.hidden == False)))  # noqa: E712
        if grant.for_representative:  # nor one the patient hid from their representatives
            condition = condition & (RecordItem.hidden_from_representatives.does_not_exist()
                                     | (RecordItem.hidden_from_representatives == False))  # noqa: E712
        if permission.categories is not None:  # granular scope: the version replaced must be in it too
            condition = condition & RecordItem.category.is_in(*sorted(permission.categories))
        with self._content_of(item, indexed):
            try:
                self.gate.commit(grant, "update", resource_type, resource_id, count=1,
                                 writes=[lambda t: t.save(item, condition=condition)])
            except WriteRefused:
                self._own(grant, resource_type, resource_id, "update", permission,
                          self._get(grant.patient_id, key))  # 404 or 403 when that is why
                raise self._stale(grant, resource_type, resource_id, expected) from None
        if current is not None:
            self._drop_contents(current)  # the version the write replaced (its condition says so)
        return self._show(grant, item), expected + 1

    def delete(self, grant: AccessGrant, resource_type: str, resource_id: str) -> None:
        permission = self._permission(grant, resource_type, "delete")
        key = item_key(resource_type, resource_id) if is_resource_id(resource_id) else None
        current, _ = self.gate.admit(grant, "delete", resource_type, resource_id[:64], record_key=key)
        current = self._own(grant, resource_type, resource_id, "delete", permission, current)
        try:
            self.gate.commit(grant, "delete", resource_type, resource_id, count=1, writes=[
                lambda t: t.delete(current, condition=RecordItem.version == current.version)])
        except WriteRefused:
            raise PreconditionFailed(f"{resource_type}/{resource_id} changed meanwhile; read it again.") from None
        self._drop_contents(current)

    def transaction(self, grant: AccessGrant, bundle: Any) -> Dict[str, Any]:
        """A transaction Bundle of creations (how devices send batches of measures): all or nothing,
        in the gate's one DynamoDB transaction."""
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise InvalidResource("POST /fhir takes a Bundle.", [{"pointer": "Bundle.resourceType",
                                                                 "message": "must be Bundle"}])
        if bundle.get("type") != "transaction":
            raise InvalidResource("Only transaction Bundles are processed here.",
                                  [{"pointer": "Bundle.type", "message": "must be transaction"}])
        entries = bundle.get("entry")
        if not isinstance(entries, list) or not entries:
            raise InvalidResource("The Bundle has no entry.", [{"pointer": "Bundle.entry", "message": "required"}])
        if len(entries) > MAX_TRANSACTION_ENTRIES:
            raise InvalidResource(f"At most {MAX_TRANSACTION_ENTRIES} entries per transaction.",
                                  [{"pointer": "Bundle.entry", "message": "too many entries"}])
        items, details = [], []
        types = set()
        for index, entry in enumerate(entries):
            path = f"Bundle.entry[{index}]"
            request = entry.get("request") if isinstance(entry, dict) else None
            resource = entry.get("resource") if isinstance(entry, dict) else None
            resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
            if not isinstance(request, dict) or request.get("method") != "POST" or \
                    str(request.get("url", "")).strip("/") != resource_type or resource_type not in WRITABLE:
                details.append({"pointer": f"{path}.request", "message": "Each entry must create a "
                                "DocumentReference, Observation or Appointment (POST <type>)."})
                continue
            try:
                permission = self._permission(grant, resource_type, "create")
                indexed = self._checked(grant, resource_type, resource, permission)
            except InvalidResource as error:
                details += [{**d, "pointer": f"{path}.resource.{d['pointer']}"} for d in error.details]
                continue
            if indexed.content:
                details.append({"pointer": f"{path}.resource", "message": "Large document content cannot "
                                "come in a transaction: create that DocumentReference alone."})
                continue
            types.add(resource_type)
            items.append(self._item(grant, resource_type, secrets.token_hex(16), indexed, version=1))
        if details:
            raise InvalidResource(f"The transaction was not applied: {len(details)} problem(s).", details)
        size = sum(len(json.dumps(item.resource)) for item in items)
        if size > MAX_TRANSACTION_BYTES:
            raise PayloadTooLarge(f"The transaction's resources take {size} bytes once stored; at most "
                                  f"{MAX_TRANSACTION_BYTES} go in one transaction: send them in several.")
        self.gate.admit(grant, "transaction", ",".join(sorted(types)))
        self.gate.commit(grant, "transaction", ",".join(sorted(types)), None, count=len(items),
                         writes=[_insert(item) for item in items])
        response_entries = []
        for item in items:
            resource_type, _, resource_id = item.item_key.partition("#")
            response_entries.append({
                "fullUrl": f"{self.fhir_base_url}/{resource_type}/{resource_id}",
                "resource": self._show(grant, item),
                "response": {"status": "201 Created", "location": f"{resource_type}/{resource_id}/_history/1",
                             "etag": etag(1), "lastModified": _instant(item.last_updated)}})
        return {"resourceType": "Bundle", "id": secrets.token_hex(8), "type": "transaction-response",
                "entry": response_entries}

    # -- helpers ---------------------------------------------------------------------------

    def _searchset(self, grant: AccessGrant, url: str, echo: List[Tuple[str, str]], cursor: Optional[str],
                   next_cursor: Optional[str], items: Sequence[Union[RecordItem, RecordRow]]) -> Dict[str, Any]:
        """A page of results: `self` and `next` links (the parameters applied, and the cursors)."""
        self_url = f"{url}?" + urlencode(echo + ([("_cursor", cursor)] if cursor else []))
        links = [{"relation": "self", "url": self_url}]
        if next_cursor:
            links.append({"relation": "next", "url": f"{url}?" + urlencode(echo + [("_cursor", next_cursor)])})
        bundle: Dict[str, Any] = {"resourceType": "Bundle", "id": secrets.token_hex(8), "type": "searchset",
                                  "meta": {"lastUpdated": _instant(self.clock())}, "link": links}
        if next_cursor is None and cursor is None:
            bundle["total"] = len(items)  # cheap only when the whole result is this page
        entries = []
        for item in items:
            resource = self._show(grant, item)
            entries.append({"fullUrl": f"{self.fhir_base_url}/{resource['resourceType']}/{resource['id']}",
                            "resource": resource, "search": {"mode": "match"}})
        bundle["entry"] = entries
        return bundle

    def _everything_permissions(self, grant: AccessGrant) -> Tuple[Optional[Permission], Dict[str, Permission]]:
        """What $everything may return to this token: reading the Patient, searching each type; 403
        insufficient_scope (logged) when none of them."""
        allowed = {}
        for resource_type, interaction in (("Patient", "read"), *((kind, "search") for kind in EVERYTHING_TYPES)):
            try:
                allowed[resource_type] = grant.permission(resource_type, interaction)
            except Forbidden:
                continue
        if not allowed:
            self.gate.refuse(grant, "everything", "Patient", None, "scope")
            needed = " ".join(["patient/Patient.r", *(f"patient/{kind}.s" for kind in EVERYTHING_TYPES)])
            raise insufficient_scope("The access token allows none of what $everything returns (needs "
                                     "patient/Patient.r, or .s on DocumentReference, Observation or Appointment).",
                                     needed)
        return allowed.pop("Patient", None), allowed

    def _permission(self, grant: AccessGrant, resource_type: str, interaction: str):
        try:
            return grant.permission(resource_type, interaction)
        except Forbidden:
            self.gate.refuse(grant, interaction, resource_type, None, "scope")
            raise

    def _checked(self, grant: AccessGrant, resource_type: str, body: Any, permission) -> Indexed:
        indexed = self.codec.check(resource_type, body, grant.pairwise_id, self.clock())
        if not permission.covers(indexed.category):
            raise Forbidden(f"The access token does not allow writing {resource_type} of category "
                            f"'{indexed.category}'.")
        return indexed

    def _get(self, patient_id: str, key: Optional[str]) -> Optional[RecordItem]:
        if key is None:
            return None
        try:
            return RecordItem.get(patient_id, key)
        except DoesNotExist:
            return None

    def _own(self, grant: AccessGrant, resource_type: str, resource_id: str, interaction: str,
             permission: Permission, item: Optional[RecordItem]) -> RecordItem:
        """`item`, read by the gate, if this app wrote it (else 404 if invisible to it, as for a
        read: absent, hidden, or outside the categories of its scope; 403 if another app's)."""
        if item is None or not grant.sees(item) or not permission.covers(item.category):
            self.gate.log(grant, interaction, resource_type, resource_id[:64], count=0)
            raise NotFound(f"{resource_type}/{resource_id[:64]} is not known.")
        if item.source_app != grant.app_id:
            self.gate.refuse(grant, interaction, resource_type, resource_id, "not-written-by-app")
            raise Forbidden(f"{resource_type}/{resource_id} was not written by this app: it may not change it.")
        return item

    def _item(self, grant: AccessGrant, resource_type: str, resource_id: str, indexed: Indexed,
              version: int) -> RecordItem:
        return RecordItem.of(grant.patient_id, resource_type, resource_id, indexed, grant.app_id, self.clock(), version)

    @contextmanager
    def _content_of(self, item: RecordItem, indexed: Indexed) -> Iterator[None]:
        """Large contents go to S3 first and the record points to them; if the write is then
        refused (consent withdrawn, app suspended, stale version...), they are deleted again.
        Keys are random: they name neither the citizen (whose internal id apps must never see, and
        pre-signed URLs show the key) nor the resource."""
        keys = []
        try:
            for index, data in indexed.content:
                key = f"content/{secrets.token_hex(20)}"
                attachment = item.resource["content"][index]["attachment"]
                self.documents.put(key, data, attachment["contentType"])
                attachment["url"] = f"s3:{key}"
                keys.append(key)
            item.content_key = ",".join(keys) or None
            yield
        except BaseException:
            self.documents.discard(keys)
            raise

    def _stale(self, grant: AccessGrant, resource_type: str, resource_id: str, expected: int) -> PreconditionFailed:
        self.gate.refuse(grant, "update", resource_type, resource_id, "stale-version")
        return PreconditionFailed(f"{resource_type}/{resource_id} is no longer at version {expected}: "
                                  "read it again, then retry.")

    def _drop_contents(self, replaced: RecordItem) -> None:
        """The S3 contents of a version that no longer exists (deleted or replaced)."""
        if replaced.content_key:
            self.documents.discard(replaced.content_key.split(","))

    def _show(self, grant: AccessGrant, item: Union[RecordItem, RecordRow]) -> Dict[str, Any]:
        resource_type, _, resource_id = item.item_key.partition("#")
        if resource_type == "Patient":
            resource_id = grant.pairwise_id
        source = f"{self.public_base_url}/apps/{item.source_app}" if item.source_app else None
        shown = self.codec.show(resource_type, resource_id, item.resource, grant.pairwise_id, int(item.version),
                                item.last_updated, source)
        if item.content_key:
            for content in shown.get("content", []):
                url = content.get("attachment", {}).get("url", "")
                if url.startswith("s3:"):
                    content["attachment"]["url"] = self.documents.url(url[3:])
        return shown


RELATED_PERSON = "RelatedPerson"
# How each capacity is coded (HL7 v3 RoleCode): a legal representative is the minor's guardian; a
# proxy is the person the patient chose to make health decisions with them (healthcare power of attorney).
_ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
_RELATIONSHIPS = {"representative": ("GUARD", "guardian", "Représentant légal"),
                  "proxy": ("HPOWATT", "healthcare power of attorney", "Proche choisi par le patient")}


def related_person(resource_id: str, pairwise_id: str, name: str, acting_as: str) -> Dict[str, Any]:
    code, display, text = _RELATIONSHIPS.get(acting_as, ("", acting_as, acting_as))
    return {"resourceType": RELATED_PERSON, "id": resource_id, "active": True,
            "patient": {"reference": f"Patient/{pairwise_id}"},
            "relationship": [{"coding": [{"system": _ROLE, "code": code, "display": display}], "text": text}],
            **({"name": [{"text": name}]} if name else {})}


def _version_of(if_match: str) -> int:
    text = if_match.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not re.fullmatch(r"[0-9]{1,12}", text):
        raise PreconditionFailed("If-Match must be an ETag of this server, e.g. W/\"3\".")
    return int(text)


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _insert(item: RecordItem) -> Write:
    """The write that creates `item`, refused if its key is taken."""
    return lambda transaction: transaction.save(item, condition=RecordItem.item_key.does_not_exist())

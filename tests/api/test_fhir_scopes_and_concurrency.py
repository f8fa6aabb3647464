"""Each SMART scope against each FHIR interaction, through the API; and concurrent writers."""
import json

import pytest

from tests.helpers.fhir import appointment, text_document, weight
from tests.helpers.smart import auth, fhir_get, fhir_post, fhir_put, smart_token

DOCUMENT = text_document()
BODIES = {"Observation": weight(), "Appointment": appointment(), "DocumentReference": DOCUMENT}


def attempt(client, token, resource_type, interaction, existing):
    """The status of one interaction; `existing` is a resource of that type the app wrote."""
    if interaction == "search":
        return fhir_get(client, f"/fhir/{resource_type}", token, _count=1).status_code
    if interaction == "read":
        return fhir_get(client, f"/fhir/{resource_type}/{existing}", token).status_code
    if interaction == "create":
        return fhir_post(client, f"/fhir/{resource_type}", token, BODIES[resource_type]).status_code
    if interaction == "update":
        body = dict(BODIES[resource_type], id=existing)
        return fhir_put(client, f"/fhir/{resource_type}/{existing}", token, body).status_code
    return client.delete(f"/fhir/{resource_type}/{existing}", headers=auth(token)).status_code


# Every data scope demo-sandbox may be granted (v2, and v1 spellings of the same), and what each
# allows: the interactions not listed must be refused with 403.
MATRIX = [
    ("patient/Observation.rs", "Observation", {"read", "search"}),
    ("patient/Observation.read", "Observation", {"read", "search"}),
    ("patient/Observation.c", "Observation", {"create"}),
    ("patient/DocumentReference.rs", "DocumentReference", {"read", "search"}),
    ("patient/DocumentReference.c", "DocumentReference", {"create"}),
    ("patient/DocumentReference.cud", "DocumentReference", {"create", "update", "delete"}),
    ("patient/Appointment.rs", "Appointment", {"read", "search"}),
    ("patient/Appointment.cud", "Appointment", {"create", "update", "delete"}),
    ("patient/Appointment.write", "Appointment", {"create", "update", "delete"}),
]
SUCCESS = {"read": 200, "search": 200, "create": 201, "update": 200, "delete": 204}


@pytest.mark.parametrize("scope, resource_type, allowed", MATRIX, ids=[m[0] for m in MATRIX])
def test_a_scope_allows_its_interactions_and_nothing_else(client, records, scope, resource_type, allowed):
    writes = "cud" if resource_type == "Appointment" else "c"
    writer = smart_token(client, f"launch/patient patient/{resource_type}.{writes}")
    existing = fhir_post(client, f"/fhir/{resource_type}", writer, BODIES[resource_type]).json_body["id"]
    token = smart_token(client, f"launch/patient {scope}")
    outcomes = {}
    for interaction in ("search", "read", "update", "create", "delete"):
        outcomes[interaction] = attempt(client, token, resource_type, interaction, existing)
    expected = {interaction: SUCCESS[interaction] if interaction in allowed else 403 for interaction in outcomes}
    assert outcomes == expected
    other = "Observation" if resource_type != "Observation" else "Appointment"
    assert fhir_get(client, f"/fhir/{other}", token).status_code == 403


def test_a_granular_scope_changes_and_deletes_only_within_its_category(client, records):
    """A token limited to prescriptions meets an imaging document as if it did not exist, for a
    change or a deletion as for a read: it neither alters it nor learns that it is there."""
    def document(loinc):
        return dict(DOCUMENT, type={"coding": [{"system": "http://loinc.org", "code": loinc}]})
    writer = smart_token(client, "launch/patient patient/DocumentReference.rs patient/DocumentReference.cud")
    imaging = fhir_post(client, "/fhir/DocumentReference", writer, document("18748-4")).json_body["id"]
    mine = fhir_post(client, "/fhir/DocumentReference", writer, document("57833-6")).json_body["id"]
    narrow = smart_token(client, "launch/patient patient/DocumentReference.rs?category=prescription "
                                 "patient/DocumentReference.cud?category=prescription")
    path = f"/fhir/DocumentReference/{imaging}"
    answers = [fhir_get(client, path, narrow),
               fhir_put(client, path, narrow, dict(document("57833-6"), id=imaging)),
               fhir_put(client, path, narrow, dict(document("57833-6"), id=imaging), **{"If-Match": 'W/"1"'}),
               client.delete(path, headers=auth(narrow))]
    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert all(a.json_body["resourceType"] == "OperationOutcome" for a in answers)
    # within its category, the same token may
    changed = fhir_put(client, f"/fhir/DocumentReference/{mine}", narrow, dict(document("57833-6"), id=mine,
                                                                              description="Renouvellement"))
    assert changed.status_code == 200, changed.body
    assert client.delete(f"/fhir/DocumentReference/{mine}", headers=auth(narrow)).status_code == 204
    reader = smart_token(client, "launch/patient patient/DocumentReference.rs")  # (the consent was re-given)
    unchanged = fhir_get(client, path, reader).json_body
    assert unchanged["meta"]["versionId"] == "1" and unchanged["type"]["coding"][0]["code"] == "18748-4"


def test_a_writer_overtaken_between_its_read_and_its_write_loses_nothing(client, records, monkeypatch):
    """Two writers, interleaved at the worst moment: B updates after A has read the version and
    before A writes. A's update (without If-Match) must be refused, not overwrite B's. (moto's
    transactions are not atomic across threads, so the interleaving is made deterministic here.)"""
    import app as application
    token = smart_token(client, "launch/patient patient/Appointment.cud patient/Appointment.rs")
    created = fhir_post(client, "/fhir/Appointment", token, appointment()).json_body
    path = f"/fhir/Appointment/{created['id']}"
    gate = application.fhir_service.gate
    original_read = gate._batch_get
    overtaken = []

    def read_then_let_b_write(grant, record_key):
        found = original_read(grant, record_key)
        if record_key and not overtaken:
            overtaken.append(True)
            b = fhir_put(client, path, token, dict(appointment(doctor="Dr B"), id=created["id"]))
            assert b.status_code == 200, b.body
        return found

    monkeypatch.setattr(gate, "_batch_get", read_then_let_b_write)
    a = fhir_put(client, path, token, dict(appointment(doctor="Dr A"), id=created["id"]))
    assert a.status_code == 412 and a.json_body["resourceType"] == "OperationOutcome"
    monkeypatch.undo()
    now = fhir_get(client, path, token).json_body
    assert now["participant"][0]["actor"]["display"] == "Dr B" and now["meta"]["versionId"] == "2"


def test_fhir_answers_carry_cors_headers_for_browser_apps(client, records):
    # (the preflight itself is checked over HTTP in tests/e2e/test_fhir_client.py)
    token = smart_token(client, "launch/patient patient/Observation.rs")
    answer = fhir_get(client, "/fhir/Observation", token, _count=1)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_a_body_over_the_limit_is_413(client, records):
    token = smart_token(client, "launch/patient patient/DocumentReference.c")
    huge = json.dumps(dict(DOCUMENT, description="x" * 6_000_000))
    response = client.post("/fhir/DocumentReference", body=huge, headers=auth(token, **{
        "Content-Type": "application/fhir+json"}))
    assert response.status_code == 413 and response.json_body["resourceType"] == "OperationOutcome"

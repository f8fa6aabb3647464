"""`GET /fhir/Patient/{id}/$everything` as a referenced app meets it: all that its scopes let it see
of its patient, paged like a search, never a hidden document, each page in the citizen's history."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import cursors
from chalicelib.clock import utc_now
from tests.helpers.fhir import READ_ALL, WRITE_ALL, appointment, weight
from tests.helpers.pages import html, session_cookie, sign_in
from tests.helpers.smart import assert_r4, auth, fhir_get, fhir_post, fhir_put, outcome, smart_token

BASE = "https://testserver"
TYPES = ("DocumentReference", "Observation", "Appointment")
SANDBOX = "Bac à sable développeurs"


def everything_path(token, patient=None):
    return f"/fhir/Patient/{patient or token['patient']}/$everything"


def pages(client, token, path, **params):
    """Every page of a paged answer, following `next` links to the end."""
    bundle = outcome(fhir_get(client, path, token, **params), 200)
    walked = [bundle]
    while True:
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        if "next" not in links:
            return walked
        assert links["next"].startswith(BASE + path + "?")
        bundle = outcome(client.get(links["next"][len(BASE):], headers=auth(token)), 200)
        walked.append(bundle)


def resources(walked):
    return [entry["resource"] for bundle in walked for entry in bundle.get("entry", [])]


def keys(found):
    return [f"{resource['resourceType']}/{resource['id']}" for resource in found]


def searched(client, token, resource_type):
    """What the same token finds by searching one type (every page)."""
    return keys(resources(pages(client, token, f"/fhir/{resource_type}", _count=100)))


def access_log(client, patient="demo-alice"):
    cookie = session_cookie(client, patient)
    return client.get("/me/access-log?limit=100&app=demo-sandbox", headers={"Cookie": cookie}).json_body["entries"]


@pytest.fixture
def token(client, records):
    return smart_token(client, READ_ALL)


def test_the_patient_comes_first_then_documents_measures_and_appointments(client, token):
    walked = pages(client, token, everything_path(token), _count=100)
    found = resources(walked)
    assert found[0]["resourceType"] == "Patient" and found[0]["id"] == token["patient"]
    assert found[0]["name"][0]["family"] == "Martin"
    expected = [f"Patient/{token['patient']}"] + [key for kind in TYPES for key in searched(client, token, kind)]
    assert keys(found) == expected, "each type as its search finds it, in the fixed order"
    first = walked[0]
    assert first["type"] == "searchset" and "total" not in first, "no total unless it all fits in one page"
    assert all(entry["search"] == {"mode": "match"} for entry in first["entry"])
    assert first["entry"][1]["fullUrl"] == f"{BASE}/fhir/{found[1]['resourceType']}/{found[1]['id']}"
    assert {link["relation"]: link["url"] for link in first["link"]}["self"] == \
        f"{BASE}{everything_path(token)}?_count=100"


def test_paging_by_two_returns_each_resource_exactly_once(client, token):
    whole = keys(resources(pages(client, token, everything_path(token), _count=100)))
    walked = pages(client, token, everything_path(token), _count=2)
    assert all(len(bundle.get("entry", [])) <= 2 for bundle in walked)
    paged = keys(resources(walked))
    assert len(paged) == len(set(paged)), "no resource twice"
    assert paged == whole, "none missing, same order"
    assert len(walked) >= len(whole) // 2


def test_a_page_without_room_for_more_still_leads_on(client, records):
    """`_count=1`: the first page is the Patient alone, and the walk goes on through every type."""
    token = smart_token(client, "launch/patient patient/Patient.rs patient/DocumentReference.rs "
                                "patient/Appointment.rs")
    walked = pages(client, token, everything_path(token), _count=1)
    assert keys(resources(walked[:1])) == [f"Patient/{token['patient']}"]
    assert all(len(bundle.get("entry", [])) <= 1 for bundle in walked)
    assert keys(resources(walked)) == keys(resources(pages(client, token, everything_path(token))))


def test_a_granular_scope_returns_only_its_category_and_no_patient(client, records):
    vitals = smart_token(client, "launch/patient patient/Observation.rs?category=vital-signs")
    walked = pages(client, vitals, everything_path(vitals), _count=100)
    found = resources(walked)
    assert found and {r["resourceType"] for r in found} == {"Observation"}, "no Patient.r: no Patient"
    assert {r["category"][0]["coding"][0]["code"] for r in found} == {"vital-signs"}
    assert keys(found) == searched(client, vitals, "Observation")


def test_a_token_without_patient_read_gets_no_patient_entry(client, records):
    token = smart_token(client, "launch/patient patient/DocumentReference.rs patient/Appointment.rs")
    bundle = outcome(fhir_get(client, everything_path(token), token), 200)
    found = resources([bundle])
    assert [r["resourceType"] for r in found] == ["DocumentReference"] * 8 + ["Appointment"] * 6
    assert bundle["total"] == len(found) == 14, "the whole result fits one page: its total is given"


def test_a_hidden_document_is_never_returned_nor_counted(client, records):
    token = smart_token(client, "launch/patient patient/DocumentReference.rs patient/Appointment.rs "
                                "patient/Patient.rs")
    cookie = session_cookie(client, "demo-alice")
    documents = client.get("/me/documents", headers={"Cookie": cookie}).json_body["documents"]
    hidden = documents[2]["id"]
    answer = client.put(f"/me/documents/{hidden}/visibility", body=json.dumps({"hidden": True}),
                        headers={"Cookie": cookie, "Content-Type": "application/json"})
    assert answer.status_code == 200
    bundle = outcome(fhir_get(client, everything_path(token), token), 200)
    found = keys(resources([bundle]))
    assert f"DocumentReference/{hidden}" not in found and len(found) == 1 + 7 + 6
    assert bundle["total"] == len(found)
    paged = keys(resources(pages(client, token, everything_path(token), _count=3)))
    assert paged == found


def test_since_returns_only_what_changed_at_or_after_it(client, records, monkeypatch):
    import app as app_module
    token = smart_token(client, WRITE_ALL)
    booked = outcome(fhir_post(client, "/fhir/Appointment", token, appointment()), 201)  # now: before _since
    later = (utc_now() + timedelta(days=1)).replace(microsecond=0)
    monkeypatch.setattr(app_module.fhir_service, "clock", lambda: later)
    first = outcome(fhir_post(client, "/fhir/Observation", token, weight(70.1, "2026-11-20T08:00:00+01:00")), 201)
    monkeypatch.setattr(app_module.fhir_service, "clock", lambda: later + timedelta(hours=1))
    second = outcome(fhir_post(client, "/fhir/Observation", token, weight(70.2, "2026-11-21T08:00:00+01:00")), 201)
    monkeypatch.setattr(app_module.fhir_service, "clock", lambda: later + timedelta(hours=2))
    moved = dict(appointment(doctor="Dr Rossi"), id=booked["id"])
    outcome(fhir_put(client, f"/fhir/Appointment/{booked['id']}", token, moved), 200)

    since = later.strftime("%Y-%m-%dT%H:%M:%SZ")
    walked = pages(client, token, everything_path(token), _since=since, _count=100)
    found = resources(walked)
    assert keys(found) == [f"Observation/{second['id']}", f"Observation/{first['id']}",
                           f"Appointment/{booked['id']}"], "no Patient, no demo record: older"
    assert all(datetime.fromisoformat(r["meta"]["lastUpdated"].replace("Z", "+00:00")) >= later for r in found)
    assert all(f"_since={since.replace(':', '%3A')}" in bundle["link"][0]["url"] for bundle in walked)
    # `_since` is a filter on what each Query reads (lastUpdated is in no index key): pages may
    # come short, or empty, with a `next` link; walking them finds everything once.
    assert keys(resources(pages(client, token, everything_path(token), _since=since, _count=1))) == keys(found)

    in_paris = (later + timedelta(hours=1, seconds=1)).astimezone(timezone(timedelta(hours=1))).isoformat()
    assert in_paris.endswith("+01:00")
    after_first = pages(client, token, everything_path(token), _since=in_paris, _count=100)
    assert keys(resources(after_first)) == [f"Appointment/{booked['id']}"]
    day_after = (later + timedelta(days=2)).date().isoformat()
    assert resources(pages(client, token, everything_path(token), _since=day_after, _count=100)) == []
    whole_day = pages(client, token, everything_path(token), _since=later.date().isoformat(), _count=100)
    assert keys(resources(whole_day)) == keys(found), "a date: from the start of that day (UTC)"


def test_another_patients_id_is_404_as_for_a_read(client, token):
    karim = smart_token(client, READ_ALL, patient="demo-karim")
    for other in (karim["patient"], "demo-alice", "x" * 300):
        refused = outcome(fhir_get(client, everything_path(token, other), token), 404)
        assert refused["resourceType"] == "OperationOutcome"
    assert [entry["count"] for entry in access_log(client)[:3]] == [0, 0, 0]


def test_unknown_operations_and_types_are_404(client, token):
    patient = token["patient"]
    outcome(fhir_get(client, f"/fhir/Patient/{patient}/$export", token), 404)
    outcome(fhir_get(client, f"/fhir/Observation/{patient}/$everything", token), 404)
    outcome(fhir_get(client, f"/fhir/Patient/{patient}/_history", token), 404)
    encoded = outcome(fhir_get(client, f"/fhir/Patient/{patient}/%24everything", token, _count=1), 200)
    assert encoded["entry"][0]["resource"]["resourceType"] == "Patient"


def test_bad_parameters_and_forged_cursors_are_400(client, token):
    path = everything_path(token)
    for params in ({"_since": "yesterday"}, {"_since": "2026-11-20T09:00:00"}, {"_since": "2026-13-01"},
                   {"_since": ["2026-01-01", "2026-02-01"]}, {"_count": "0"}, {"_count": "many"},
                   {"colour": "blue"}, {"start": "2026-01-01"}, {"_format": "xml"}):
        outcome(fhir_get(client, path, token, **params), 400)
    lenient = client.get(f"{path}?colour=blue&_count=1", headers=auth(token, Prefer="handling=lenient"))
    assert "colour" not in outcome(lenient, 200)["link"][0]["url"]
    capped = outcome(fhir_get(client, path, token, _count=500), 200)
    assert "_count=100" in capped["link"][0]["url"] and len(capped["entry"]) == 100

    search_cursor = fhir_get(client, "/fhir/Observation", token, _count=1).json_body["link"][1]["url"]
    forged = [
        "not-a-cursor",
        search_cursor.split("_cursor=")[1],  # another search's cursor
        cursors.encode({"t": 7}),
        cursors.encode({"t": True}),
        cursors.encode({"t": 0, "k": "Observation#demo0001", "i": "Observation#2026-01-01T00:00:00Z#demo0001"}),
        cursors.encode({"t": 1, "k": "Observation#demo0001"}),
        cursors.encode({"t": 1, "k": "Observation#x", "i": "Observation#x", "p": "demo-karim"}),
    ]
    for cursor in forged:
        outcome(fhir_get(client, path, token, _cursor=cursor), 400)
    documents_only = smart_token(client, "launch/patient patient/DocumentReference.rs")
    outcome(fhir_get(client, everything_path(documents_only), documents_only, _cursor=cursors.encode({"t": 1})), 400)


def test_a_token_that_covers_nothing_of_it_is_403_and_logged(client, records):
    writer = smart_token(client, "launch/patient patient/Observation.c")
    refused = fhir_get(client, everything_path(writer), writer)
    outcome(refused, 403)
    challenge = refused.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and "patient/Patient.r" in challenge
    newest = access_log(client)[0]
    assert (newest["interaction"], newest["resource_type"], newest["outcome"], newest["reason"]) == \
        ("everything", "Patient", "refused", "scope")


def test_each_page_is_one_entry_of_the_access_history(client, token):
    before = len(access_log(client))
    walked = pages(client, token, everything_path(token), _count=60)
    assert len(walked) > 1
    after = access_log(client)
    entries = after[:len(after) - before]
    assert len(entries) == len(walked), "one entry per page"
    assert {(e["interaction"], e["resource_type"], e["outcome"]) for e in entries} == \
        {("everything", "Patient", "allowed")}
    assert [e["count"] for e in reversed(entries)] == [len(bundle.get("entry", [])) for bundle in walked]

    _, cookie = sign_in(client, next_path="/account/history")
    french = html(client.get("/account/history", headers={"Cookie": cookie}))
    assert f"{SANDBOX} a consulté {entries[-1]['count']} éléments de votre dossier en une fois." in french
    english = html(client.get("/account/history?lang=en", headers={"Cookie": cookie}))
    assert f"{SANDBOX} read {entries[-1]['count']} items of your record at once." in english


def test_the_capability_statement_lists_the_operation(client):
    statement = assert_r4(client.get("/fhir/metadata").json_body)
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert patient["operation"][0]["name"] == "everything"
    assert patient["operation"][0]["definition"] == "http://hl7.org/fhir/OperationDefinition/Patient-everything"

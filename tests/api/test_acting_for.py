"""Acting for someone else (issue 15): a parent chooses, at authorization, the child they act for;
the app reads the child's record as the parent's consent allows, but never what the child hid from
their representatives; every access says who acted; the 18th birthday ends it all."""
import base64
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest

import app as application
from chalicelib.identity.families import DemoFamilyRecords
from chalicelib.config import settings
from tests.helpers.fhir import READ_ALL
from tests.helpers.oauth import (FHIR, authorize_url, cookie_of, exchange, pkce, redirect_params, refresh,
                                 signed_in, submitted_fields)
from tests.helpers.pages import FORM, csrf_of, html, session_cookie
from tests.helpers.smart import auth, fhir_get, smart_token

SCOPE = READ_ALL + " offline_access openid fhirUser"


def claims_of(jwt_text):
    payload = jwt_text.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def document_ids(client, token):
    bundle = fhir_get(client, "/fhir/DocumentReference", token, _count="100").json_body
    return {entry["resource"]["id"] for entry in bundle.get("entry", [])}, bundle.get("total")


@pytest.fixture
def alice_for_noah(client, family_records):
    return smart_token(client, SCOPE, patient="demo-alice", for_whom="Noah")


def test_a_parent_chooses_for_whom_and_the_app_gets_the_childs_record(client, family_records):
    page = signed_in(client, authorize_url(pkce()[1], login_hint="demo-alice", scope=SCOPE), for_whom=None)
    # the picker was submitted as Alice; she is asked for whom before any consent page
    body = html(client.get(authorize_url(pkce()[1], scope=SCOPE), headers={"Cookie": cookie_of(page)}))
    assert "Pour qui ?" in body and "Noah Martin" in body and "Lina Martin" in body and "Moi-même, Alice Martin" in body

    token = smart_token(client, SCOPE, patient="demo-alice", for_whom="Noah")
    patient = fhir_get(client, f"/fhir/Patient/{token['patient']}", token).json_body
    assert patient["name"][0]["given"] == ["Noah"]
    access = claims_of(token["access_token"])
    assert access["act_as"] == "representative" and "demo-alice" not in token["access_token"]
    identity = claims_of(token["id_token"])
    assert identity["fhirUser"].startswith(f"{FHIR}/RelatedPerson/") and identity["sub"] == token["patient"]
    related = fhir_get(client, identity["fhirUser"][len(FHIR) - len("/fhir"):], token).json_body
    assert related["resourceType"] == "RelatedPerson" and related["name"] == [{"text": "Alice Martin"}]
    assert related["relationship"][0]["coding"][0]["code"] == "GUARD"
    mine = smart_token(client, SCOPE, patient="demo-alice")  # for herself: another patient, her own fhirUser
    assert mine["patient"] != token["patient"] and claims_of(mine["id_token"])["fhirUser"] == \
        f"{FHIR}/Patient/{mine['patient']}"
    assert "act_as" not in claims_of(mine["access_token"])
    # Acting for oneself, there is no RelatedPerson; and without the fhirUser scope, none is read.
    assert fhir_get(client, identity["fhirUser"][len(FHIR) - len("/fhir"):], mine).status_code == 404
    no_user = smart_token(client, READ_ALL, patient="demo-alice", for_whom="Noah")
    assert fhir_get(client, identity["fhirUser"][len(FHIR) - len("/fhir"):], no_user).status_code == 403


def test_prompt_none_when_a_choice_is_needed_is_interaction_required(client, family_records):
    page = signed_in(client, authorize_url(pkce()[1], login_hint="demo-alice", scope=SCOPE))
    answer = client.get(authorize_url(pkce()[1], scope=SCOPE, prompt="none"), headers={"Cookie": cookie_of(page)})
    assert redirect_params(answer)["error"] == "interaction_required"


def test_a_crafted_choice_is_refused_and_grants_nothing(client, family_records):
    first = signed_in(client, authorize_url(pkce()[1], login_hint="demo-alice", scope=SCOPE))
    cookie = cookie_of(first)
    page = client.get(authorize_url(pkce()[1], scope=SCOPE), headers={"Cookie": cookie})
    fields = [(n, v) for n, v in submitted_fields(page.body.decode()) if n != "patient_choice"]
    for crafted in ("demo-karim", "demo-noah", "0" * 24):
        answer = client.post("/oauth/authorize", body=urlencode(fields + [("patient_choice", crafted)]),
                             headers={**FORM, "Cookie": cookie})
        assert answer.status_code == 403 and "Location" not in answer.headers
    # Karim's own "for whom?" values mean nothing in Alice's session, and the other way round.
    karim = signed_in(client, authorize_url(pkce()[1], login_hint="demo-karim", scope=SCOPE))
    assert b"patient_choice" not in karim.body  # he represents no one: straight to his consent page
    assert client.get("/me/consents", headers={"Cookie": cookie}).json_body["active"] == []


def test_the_app_never_sees_what_the_child_hid_from_their_representatives(client, alice_for_noah):
    cookie = session_cookie(client, "demo-noah")  # Noah's own list of his documents
    his = {d["id"] for d in client.get("/me/documents", headers={"Cookie": cookie}).json_body["documents"]}
    hers, her_total = document_ids(client, alice_for_noah)
    assert "demo-secret" in his and len(his) == 9
    assert hers == his - {"demo-secret"} and her_total == 8  # nor counted in `total`
    read = fhir_get(client, "/fhir/DocumentReference/demo-secret", alice_for_noah)
    assert read.status_code == 404 and read.json_body["resourceType"] == "OperationOutcome"
    for count in ("1", "3"):  # nor through paging cursors, nor small pages
        seen, url = set(), f"/fhir/DocumentReference?_count={count}"
        while url:
            bundle = client.get(url.replace(FHIR, "/fhir"), headers=auth(alice_for_noah)).json_body
            seen |= {entry["resource"]["id"] for entry in bundle.get("entry", [])}
            url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        assert seen == hers
    everything = fhir_get(client, f"/fhir/Patient/{alice_for_noah['patient']}/$everything", alice_for_noah,
                          _count="100").json_body
    assert "demo-secret" not in {entry["resource"]["id"] for entry in everything["entry"]}

    # Noah hides one more from his representatives: gone for Alice's app at its next call.
    another = sorted(hers)[0]
    answer = client.put(f"/me/documents/{another}/visibility", body='{"hidden_from_representatives": true}',
                        headers={"Cookie": cookie, "Content-Type": "application/json"})
    assert answer.status_code == 200 and answer.json_body == {"id": another, "hidden_from_representatives": True}
    assert document_ids(client, alice_for_noah) == (hers - {another}, 7)
    listed = client.get("/me/documents", headers={"Cookie": cookie}).json_body["documents"]
    assert [d["hidden_from_representatives"] for d in listed if d["id"] == another] == [True]
    bad = client.put(f"/me/documents/{another}/visibility", body='{"hidden_from_representatives": "yes"}',
                     headers={"Cookie": cookie, "Content-Type": "application/json"})
    assert bad.status_code == 400


def test_every_access_says_who_acted(client, alice_for_noah):
    assert fhir_get(client, "/fhir/Observation", alice_for_noah, _count="5").status_code == 200
    cookie = session_cookie(client, "demo-noah")
    entries = client.get("/me/access-log", headers={"Cookie": cookie}).json_body["entries"]
    searches = [e for e in entries if e["interaction"] == "search"]
    assert searches and all(e["acted_by"] == {"name": "Alice Martin", "as": "representative"} for e in searches)
    page = html(client.get("/account/history", headers={"Cookie": cookie}))
    assert "Par Alice Martin, pour Noah" in page
    receipt = client.get("/me/consents/demo-sandbox/receipt", headers={"Cookie": cookie}).json_body
    assert receipt["given_by"] == {"name": "Alice Martin", "as": "representative"}
    assert "Accordé par Alice Martin" in html(client.get("/account/consents", headers={"Cookie": cookie}))


@pytest.fixture
def noah_turns_18_in_ten_days(monkeypatch):
    """The family records, with Noah born 18 years less ten days ago (the demo's Noah is 16)."""
    records = DemoFamilyRecords(settings.catalog_dir)
    today = datetime.now(timezone.utc).date()
    birth = (today + timedelta(days=10)).replace(year=today.year - 18)
    records.people["demo-noah"] = replace(records.people["demo-noah"], birth_date=birth)
    monkeypatch.setattr(application.families, "records", records)
    return records.people["demo-noah"].comes_of_age


def test_the_18th_birthday_ends_the_representation_and_what_it_granted(client, family_records,
                                                                       noah_turns_18_in_ten_days, monkeypatch):
    alice_for_noah = smart_token(client, SCOPE, patient="demo-alice", for_whom="Noah")
    noah_cookie = session_cookie(client, "demo-noah")
    alice_page = signed_in(client, authorize_url(pkce()[1], login_hint="demo-alice", scope=SCOPE))
    assert fhir_get(client, "/fhir/Observation", alice_for_noah).status_code == 200
    receipt = client.get("/me/consents/demo-sandbox/receipt", headers={"Cookie": noah_cookie}).json_body
    assert receipt["until"] == noah_turns_18_in_ten_days.isoformat()  # what she granted ends when he comes of age
    later = noah_turns_18_in_ten_days + timedelta(hours=1)
    for clock_of in (application.consent_service, application.families, application.fhir_service.gate,
                     application.oauth_server):
        monkeypatch.setattr(clock_of, "clock", lambda: later)
    refused = fhir_get(client, "/fhir/Observation", alice_for_noah)
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert refresh(client, alice_for_noah["refresh_token"]).json_body["error"] == "invalid_grant"
    # Alice is no longer offered Noah; Noah is told on his consents page.
    body = html(client.get(authorize_url(pkce()[1], scope=SCOPE), headers={"Cookie": cookie_of(alice_page)}))
    assert "Noah Martin" not in body and "Lina Martin" in body
    told = html(client.get("/account/consents", headers={"Cookie": noah_cookie}))
    assert "Depuis vos 18 ans" in told and "Bac à sable développeurs" in told


def test_my_relatives_and_switching_to_a_childs_space(client, family_records):
    for_lina = smart_token(client, SCOPE, patient="demo-alice", for_whom="Lina")
    assert fhir_get(client, "/fhir/Appointment", for_lina).status_code == 200
    alice = session_cookie(client, "demo-alice")
    page = client.get("/account/relatives", headers={"Cookie": alice})
    body = html(page)
    assert "Noah Martin" in body and "Lina Martin" in body and "Personne n'agit pour vous." in body
    assert client.get("/account/consents", headers={"Cookie": alice}).body.count(b"<h3>") == 0  # hers: none
    choices = dict((name, value) for value, name in __import__("re").findall(
        r'name="person" value="([^"]+)">\s*<button type="submit" class="primary">Voir l&#39;espace de ([^<]+)<',
        page.body.decode()))
    forged = client.post("/account/relatives/act-for", headers={**FORM, "Cookie": alice},
                         body=urlencode({"csrf_token": csrf_of(page), "person": "demo-karim"}))
    assert forged.status_code == 403
    switched = client.post("/account/relatives/act-for", headers={**FORM, "Cookie": alice},
                           body=urlencode({"csrf_token": csrf_of(page), "person": choices["Lina Martin"]}))
    assert switched.status_code == 303 and switched.headers["Location"] == "/account/consents"
    lina = html(client.get("/account/consents", headers={"Cookie": alice}))
    assert "Vous consultez l'espace de Lina Martin" in lina and "Bac à sable développeurs" in lina
    assert "Par Alice Martin, pour Lina" in html(client.get("/account/history", headers={"Cookie": alice}))
    back = client.post("/account/relatives/act-for", headers={**FORM, "Cookie": alice},
                       body=urlencode({"csrf_token": csrf_of(page), "person": ""}))
    assert back.status_code == 303
    assert "Vous consultez" not in html(client.get("/account/consents", headers={"Cookie": alice}))

    noah = html(client.get("/account/relatives", headers={"Cookie": session_cookie(client, "demo-noah")}))
    assert "Alice Martin" in noah and "Thomas Martin" in noah and "Vous n'agissez pour personne d'autre." in noah


def test_both_representatives_may_act(client, family_records):
    thomas = smart_token(client, READ_ALL, patient="demo-thomas", for_whom="Lina")
    assert fhir_get(client, f"/fhir/Patient/{thomas['patient']}", thomas).json_body["name"][0]["given"] == ["Lina"]
    assert exchange  # noqa: B018 - imported for the helpers' flows

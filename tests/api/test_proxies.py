"""Chosen proxies (issue 15, EHDS article 4): Léa invites Karim from "Mes proches" to act for her
on her measures; only Karim, signed in, may accept, once; he then authorizes an app for Léa, which
reads her measures and nothing else; Léa sees who acted; either side ends it, and the app's tokens
stop at once. Each refusal an attacker would try is a test of its own."""
import base64
import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit

import pytest

import app as application
from chalicelib.catalog.models import HEAD_VERSION, AppHead
from chalicelib.consent.service import GivenBy
from chalicelib.errors import Forbidden
from tests.helpers.export import archive_of, open_archive, wait_for_export
from tests.helpers.fhir import READ_ALL
from tests.helpers.oauth import FHIR, authorize_url, cookie_of, pkce, redirect_params, refresh, signed_in
from tests.helpers.pages import FORM, csrf_of, html, sign_in
from tests.helpers.smart import fhir_get, smart_token

SCOPE = READ_ALL + " offline_access openid fhirUser"
KARIM = {"given": "Karim", "family": "BENALI", "birth_date": "1951-11-02"}  # as Léa types it


def claims_of(jwt_text):
    payload = jwt_text.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def relatives(client, cookie):
    page = client.get("/account/relatives", headers={"Cookie": cookie})
    assert page.status_code == 200
    return page


def invite(client, cookie, kinds=("measures",), **fields):
    page = relatives(client, cookie)
    body = [("csrf_token", csrf_of(page)), *({**KARIM, **fields}).items(), *(("kinds", kind) for kind in kinds)]
    return client.post("/account/relatives/invite", headers={**FORM, "Cookie": cookie}, body=urlencode(body))


def invitation_path(answer):
    assert answer.status_code == 200, answer.body
    link = re.search(r'id="link" readonly size="70" value="([^"]+)"', answer.body.decode()).group(1)
    return urlsplit(link).path


def answer_invitation(client, cookie, path, answer="accept"):
    page = client.get(path, headers={"Cookie": cookie})
    csrf = csrf_of(page) if 'name="csrf_token"' in page.body.decode() else csrf_of(relatives(client, cookie))
    return client.post(path, headers={**FORM, "Cookie": cookie}, body=urlencode({"csrf_token": csrf, "answer": answer}))


def link_ids(page):
    return re.findall(r'name="link" value="([^"]+)"', page.body.decode())


def end(client, cookie, link_id):
    return client.post("/account/relatives/end", headers={**FORM, "Cookie": cookie},
                       body=urlencode({"csrf_token": csrf_of(relatives(client, cookie)), "link": link_id}))


@pytest.fixture
def lea(client, records):
    return sign_in(client, "demo-lea", "/account/relatives")[1]


@pytest.fixture
def karim(client, records):
    return sign_in(client, "demo-karim", "/account/relatives")[1]


@pytest.fixture
def karim_for_lea(client, lea, karim):
    """Karim accepted Léa's invitation for her measures, without an end date."""
    path = invitation_path(invite(client, lea))
    assert answer_invitation(client, karim, path).status_code == 303
    return path


def test_an_invitation_is_sent_accepted_used_and_ended(client, lea, karim):
    path = invitation_path(invite(client, lea))
    assert "Karim BENALI" in html(relatives(client, lea)) and "invitation envoyée pour : mesures" in \
        html(relatives(client, lea))
    shown = client.get(path, headers={"Cookie": karim})
    assert shown.status_code == 200 and "Léa Dupont vous invite à agir pour elle ou lui" in html(shown)
    accepted = answer_invitation(client, karim, path)
    assert accepted.status_code == 303 and accepted.headers["Location"] == "/account/relatives?done=accepted"
    page = html(relatives(client, karim))
    assert "Léa Dupont" in page and "vous êtes son proche choisi·e pour : mesures" in page

    token = smart_token(client, SCOPE, patient="demo-karim", for_whom="Léa")
    assert set(token["scope"].split()) >= {"patient/Observation.rs", "patient/Patient.rs"}
    assert "patient/DocumentReference.rs" not in token["scope"] and "patient/Appointment.rs" not in token["scope"]
    assert claims_of(token["access_token"])["act_as"] == "proxy"
    fhir_user = claims_of(token["id_token"])["fhirUser"]
    assert fhir_user.startswith(f"{FHIR}/RelatedPerson/")
    related = fhir_get(client, fhir_user[len(FHIR) - len("/fhir"):], token)  # what a SMART client's user.read() fetches
    assert related.status_code == 200, related.body
    assert related.json_body["name"] == [{"text": "Karim Benali"}]
    assert related.json_body["patient"] == {"reference": f"Patient/{token['patient']}"}
    assert related.json_body["relationship"][0]["coding"][0]["code"] == "HPOWATT"
    assert fhir_get(client, "/fhir/RelatedPerson/" + "0" * 32, token).status_code == 404  # only oneself
    patient = fhir_get(client, f"/fhir/Patient/{token['patient']}", token).json_body
    assert patient["name"][0]["given"] == ["Léa"]
    assert fhir_get(client, "/fhir/Observation", token).json_body["entry"]
    assert fhir_get(client, "/fhir/DocumentReference", token).status_code == 403

    history = client.get("/me/access-log", headers={"Cookie": lea}).json_body["entries"]
    assert history[0]["acted_by"] == {"name": "Karim Benali", "as": "proxy"}
    assert "Accordé par Karim Benali, proche choisi·e" in html(client.get("/account/consents", headers={"Cookie": lea}))

    (link_id,) = link_ids(relatives(client, lea))
    ended = end(client, lea, link_id)
    assert ended.status_code == 303 and ended.headers["Location"] == "/account/relatives?done=ended"
    refused = fhir_get(client, "/fhir/Observation", token)
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert fhir_get(client, fhir_user[len(FHIR) - len("/fhir"):], token).status_code == 401
    assert refresh(client, token["refresh_token"]).json_body["error"] == "invalid_grant"
    assert "Léa Dupont" not in html(relatives(client, karim))
    page = signed_in(client, authorize_url(pkce()[1], scope=SCOPE), headers={"Cookie": karim})
    assert "Pour qui ?" not in html(page) and "Léa" not in html(page)  # straight to his own consent page


def test_the_proxy_ends_it_from_their_side_and_what_they_granted_ends_with_it(client, karim_for_lea, lea, karim):
    token = smart_token(client, SCOPE, patient="demo-karim", for_whom="Léa")
    (link_id,) = link_ids(relatives(client, karim))
    assert end(client, karim, link_id).status_code == 303
    assert fhir_get(client, "/fhir/Observation", token).status_code == 401
    consents = client.get("/me/consents", headers={"Cookie": lea}).json_body
    assert [c["status"] for c in consents["past"]] == ["revoked"] and consents["active"] == []
    assert "Personne n'agit pour vous." in html(relatives(client, lea))


def test_an_invitation_accepted_by_the_wrong_person_is_refused_and_stays_for_the_right_one(client, lea, karim):
    path = invitation_path(invite(client, lea))
    alice = sign_in(client, "demo-alice", "/account/relatives")[1]
    shown = client.get(path, headers={"Cookie": alice})
    assert shown.status_code == 403 and "adressée à une autre personne" in html(shown)
    assert "Léa" not in html(shown) and "mesures" not in html(shown)  # nothing of it shown to someone else
    assert answer_invitation(client, alice, path).status_code == 403
    assert answer_invitation(client, lea, path).status_code == 403  # nor by the one who invited
    assert "Léa Dupont" not in html(relatives(client, alice))
    assert answer_invitation(client, karim, path).status_code == 303


def test_an_invitation_replayed_is_refused(client, lea, karim):
    path = invitation_path(invite(client, lea))
    twice = invite(client, lea, given="karim", family="Benali")  # the same person again
    assert twice.status_code == 409 and "already invited" in html(twice)
    assert answer_invitation(client, karim, path).status_code == 303
    again = answer_invitation(client, karim, path)
    assert again.status_code == 410 and "a déjà servi" in html(again)
    assert client.get(path, headers={"Cookie": karim}).status_code == 410
    assert client.get("/account/relatives/invitations/" + "A" * 32, headers={"Cookie": karim}).status_code == 410
    assert len(application.proxy_service.acting_for("demo-karim")) == 1  # one link, not two


def test_a_declined_or_withdrawn_invitation_cannot_be_accepted(client, lea, karim):
    declined = invitation_path(invite(client, lea))
    assert answer_invitation(client, karim, declined, "decline").headers["Location"] == \
        "/account/relatives?done=declined"
    assert answer_invitation(client, karim, declined).status_code == 410
    withdrawn = invitation_path(invite(client, lea))
    (link_id,) = link_ids(relatives(client, lea))
    assert end(client, lea, link_id).status_code == 303
    assert answer_invitation(client, karim, withdrawn).status_code == 410
    assert "Personne n'agit pour vous." in html(relatives(client, lea))


def test_a_proxy_for_measures_never_grants_documents_however_the_request_is_made(client, karim_for_lea, karim):
    # The consent form, with a document scope slipped in among the choices: not granted.
    verifier, challenge = pkce()
    page = signed_in(client, authorize_url(challenge, login_hint="demo-karim", scope=SCOPE, prompt="consent"),
                     for_whom="Léa")
    body = page.body.decode()
    assert "en tant que proche choisi·e : mesures seulement" in html(page)
    assert "patient/DocumentReference.rs" not in re.findall(r'name="scope_choices" value="([^"]+)"', body)
    from tests.helpers.oauth import exchange, submitted_fields
    fields = submitted_fields(body) + [("scope_choices", "patient/DocumentReference.rs"), ("decision", "allow")]
    answer = client.post("/oauth/authorize", body=urlencode(fields), headers={**FORM, "Cookie": cookie_of(page)})
    token = exchange(client, redirect_params(answer)["code"], verifier).json_body
    assert "DocumentReference" not in token["scope"]
    assert fhir_get(client, "/fhir/DocumentReference", token).status_code == 403
    # An app asking for documents only: nothing the proxy may grant.
    only_documents = signed_in(client, authorize_url(pkce()[1], scope="launch/patient patient/DocumentReference.rs"),
                               headers={"Cookie": karim}, for_whom="Léa")
    assert redirect_params(only_documents)["error"] == "access_denied"
    # And the consent service itself refuses it, whoever calls it.
    head = application.consent_service.find("demo-lea", "demo-sandbox")
    link = application.proxy_service.acting_for("demo-karim")[0]
    with pytest.raises(Forbidden):
        application.consent_service.grant("demo-lea", AppHead.get("demo-sandbox", HEAD_VERSION),
                                          ["patient/DocumentReference.rs"], [], 30,
                                          GivenBy("demo-karim", "proxy", "Karim Benali", None, link.kinds,
                                                  link.link_id))
    assert application.consent_service.find("demo-lea", "demo-sandbox").generation == head.generation


def test_a_proxy_cannot_widen_their_scope_at_refresh(client, karim_for_lea):
    token = smart_token(client, SCOPE, patient="demo-karim", for_whom="Léa")
    wider = refresh(client, token["refresh_token"], scope="patient/Observation.rs patient/DocumentReference.rs")
    assert wider.status_code == 400 and wider.json_body["error"] == "invalid_scope"
    assert refresh(client, token["refresh_token"], scope="patient/Observation.rs").status_code == 200


def test_an_expired_proxy_is_refused(client, lea, karim, monkeypatch):
    tomorrow = datetime.now(timezone.utc).date() + timedelta(days=1)
    path = invitation_path(invite(client, lea, until=tomorrow.isoformat()))
    assert answer_invitation(client, karim, path).status_code == 303
    token = smart_token(client, SCOPE, patient="demo-karim", for_whom="Léa")
    page = signed_in(client, authorize_url(pkce()[1], scope=SCOPE), headers={"Cookie": karim})
    choices = re.findall(r'name="patient_choice" value="([^"]+)"', page.body.decode())
    later = datetime.combine(tomorrow + timedelta(days=1), datetime.min.time(), timezone.utc) + timedelta(minutes=1)
    for clock_of in (application.consent_service, application.families, application.fhir_service.gate,
                     application.oauth_server, application.proxy_service):
        monkeypatch.setattr(clock_of, "clock", lambda: later)
    assert fhir_get(client, "/fhir/Observation", token).status_code == 401
    assert refresh(client, token["refresh_token"]).json_body["error"] == "invalid_grant"
    assert "Léa Dupont" not in html(relatives(client, karim))
    # The choice offered before the end date, replayed after it: refused, nothing granted.
    from tests.helpers.oauth import submitted_fields
    fields = [(n, v) for n, v in submitted_fields(page.body.decode()) if n != "patient_choice"]
    for choice in choices:
        crafted = client.post("/oauth/authorize", headers={**FORM, "Cookie": karim},
                              body=urlencode(fields + [("patient_choice", choice)]))
        assert crafted.status_code in (302, 200)  # his own record (no longer a choice), or a page
        assert "Léa" not in crafted.body.decode()


def test_a_proxys_view_of_the_space_shows_only_what_they_did(client, karim_for_lea, lea, karim):
    smart_token(client, SCOPE, patient="demo-lea")  # Léa's own consent, to the same app
    token = smart_token(client, SCOPE, patient="demo-karim", for_whom="Léa")
    assert fhir_get(client, "/fhir/Observation", token).status_code == 200
    page = relatives(client, karim)
    choice = re.search(r'name="person" value="([^"]+)"', page.body.decode()).group(1)
    switched = client.post("/account/relatives/act-for", headers={**FORM, "Cookie": karim},
                           body=urlencode({"csrf_token": csrf_of(page), "person": choice}))
    assert switched.status_code == 303
    consents = html(client.get("/account/consents", headers={"Cookie": karim}))
    assert "en tant que proche" in consents and "Accordé par Karim Benali" in consents
    history = html(client.get("/account/history", headers={"Cookie": karim}))
    assert "Par Karim Benali, pour Léa" in history


def test_bad_invitations_are_refused_and_write_nothing(client, lea):
    cases = [({"given": ""}, "first name"), ({"birth_date": "1951-13-40"}, "date of birth"),
             ({"until": "2000-01-01"}, "future"), ({"given": "Léa", "family": "Dupont", "birth_date": "1996-07-25"},
                                                   "yourself")]
    for fields, words in cases:
        answer = invite(client, lea, **fields)
        assert answer.status_code == 400 and words in html(answer), (fields, html(answer))
        assert f'value="{fields.get("family", "BENALI")}"' in html(answer)  # what was typed stays
    assert invite(client, lea, until="9999-12-31").status_code == 400  # not a 500 from a date overflow
    no_kind = invite(client, lea, kinds=())
    assert no_kind.status_code == 400 and "kind of data" in html(no_kind)
    assert invite(client, lea, kinds=("genome",)).status_code == 400
    assert application.proxy_service.granted_by("demo-lea") == []
    forged = client.post("/account/relatives/invite", headers={**FORM, "Cookie": lea},
                         body=urlencode({"csrf_token": "forged", **KARIM, "kinds": "measures"}))
    assert forged.status_code == 403 and application.proxy_service.granted_by("demo-lea") == []


def test_each_side_finds_the_link_in_their_own_copy(client, karim_for_lea, lea, karim, documents_bucket):
    for cookie in (lea, karim):
        assert client.post("/me/export", headers={"Cookie": cookie}).status_code == 202
        assert wait_for_export(client, cookie)["state"] == "ready"
    chosen = open_archive(archive_of(client, lea))["consents"]
    assert [(p["person"], p["status"], p["kinds"]) for p in chosen["proxies_chosen"]] == \
        [("Karim BENALI", "active", ["measures"])]
    acting = open_archive(archive_of(client, karim))["consents"]
    assert acting["acting_as_proxy_for"] == [{"person": "Léa Dupont", "status": "active", "kinds": ["measures"],
                                              "until": None}]
    assert "demo-" not in json.dumps(chosen) + json.dumps(acting)  # no internal id



def test_the_history_names_who_acted_where_the_family_records_know_no_one(client, karim_for_lea, lea, monkeypatch):
    token = smart_token(client, SCOPE, patient="demo-karim", for_whom="Léa")
    assert fhir_get(client, "/fhir/Observation", token).status_code == 200
    from chalicelib.identity.families import NoFamilyRecords
    monkeypatch.setattr(application.families, "records", NoFamilyRecords())  # as deployed stages are today
    entries = client.get("/me/access-log", headers={"Cookie": lea}).json_body["entries"]
    assert entries[0]["acted_by"] == {"name": "Karim Benali", "as": "proxy"}  # the name the consent was given under


def test_ending_a_link_when_dynamodb_fails_leaves_it_standing_to_end_again(client, karim_for_lea, lea, karim):
    from tests.dynamodb_double import dynamodb_double
    token = smart_token(client, SCOPE, patient="demo-karim", for_whom="Léa")
    (link_id,) = link_ids(relatives(client, lea))
    with dynamodb_double() as double:
        double.fail("TransactWriteItems", "InternalServerError", times=None)  # the withdrawal, then the end
        failed = end(client, lea, link_id)
        assert failed.status_code == 503 and "momentanément indisponible" in html(failed)
    assert fhir_get(client, "/fhir/Observation", token).status_code == 200  # nothing was withdrawn
    assert link_ids(relatives(client, lea)) == [link_id]  # the link stands: Léa may end it again
    assert end(client, lea, link_id).status_code == 303
    assert fhir_get(client, "/fhir/Observation", token).status_code == 401

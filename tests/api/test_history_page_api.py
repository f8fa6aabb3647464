"""The citizen's access-history page over the Chalice test client: accesses made through the FHIR
API in words, filter by app, paging, refusals and their reason, one citizen's history only; and
the online_access sentence of the consent page."""
import re
from datetime import datetime, timezone
from urllib.parse import urlencode

from chalicelib.pages import history as history_pages
from chalicelib.records.audit import new_entry
from tests.helpers.oauth import authorize_url, pkce, signed_in
from tests.helpers.pages import html, sign_in
from tests.helpers.smart import fhir_get, smart_token

READ = "launch/patient patient/Observation.rs patient/Appointment.rs patient/Patient.rs"
SANDBOX = "Bac à sable développeurs"


def entries(body):
    return re.findall(r'<li class="(allowed|refused)">', body)


def test_the_history_lists_fhir_accesses_in_words_newest_first(client, records):
    token = smart_token(client, READ)
    measures = fhir_get(client, "/fhir/Observation", token, _count=50).json_body
    count = len(measures["entry"])
    assert count > 1
    fhir_get(client, "/fhir/Appointment", token, _count=1)
    _, cookie = sign_in(client, next_path="/account/history")
    page = client.get("/account/history", headers={"Cookie": cookie})
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    body = html(page)
    assert "<h1>Historique des accès</h1>" in body and entries(body) == ["allowed", "allowed"]
    newest, older = body.index("a consulté un rendez-vous."), body.index(f"a consulté {count} mesures de santé.")
    assert newest < older, "newest first"
    assert f"{SANDBOX} a consulté {count} mesures de santé." in body
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">\d\d:\d\d</time>', body)
    assert re.search(r'<h3 id="day-1"><time datetime="\d{4}-\d\d-\d\d">', body)
    assert '<ol class="timeline"' in body and "Autorisé" in body
    assert 'href="/account/history" aria-current="page"' in body, "in the menu, as the current page"
    assert "<script" not in body and "<img" not in body

    english = html(client.get("/account/history?lang=en", headers={"Cookie": cookie}))
    assert f"{SANDBOX} read {count} health measures." in english and "Access history" in english
    assert f"{SANDBOX} read an appointment." in english

    consents = html(client.get("/account/consents", headers={"Cookie": cookie}))
    assert 'href="/account/history"' in consents and 'href="/account/history?app=demo-sandbox"' in consents


def test_the_history_filters_by_app(client, records):
    token = smart_token(client, READ)
    fhir_get(client, "/fhir/Observation", token, _count=1)
    new_entry("demo-alice", "gluco-suivi", datetime.now(timezone.utc), "create", "Observation",
              "abc", count=1).save()
    _, cookie = sign_in(client, next_path="/account/history")
    everything = html(client.get("/account/history", headers={"Cookie": cookie}))
    assert "GlucoSuivi a ajouté une mesure de santé." in everything and f"{SANDBOX} a consulté" in everything
    assert '<option value="demo-sandbox">' in everything and '<option value="gluco-suivi">' in everything

    only = html(client.get("/account/history?app=demo-sandbox", headers={"Cookie": cookie}))
    assert f"{SANDBOX} a consulté" in only and "GlucoSuivi a ajouté" not in only
    assert '<option value="demo-sandbox" selected>' in only
    assert f"Accès de {SANDBOX} seulement." in only
    none = html(client.get("/account/history?app=visiosoin", headers={"Cookie": cookie}))
    assert entries(none) == [] and "Cette application n'a pas accédé à votre dossier." in none

    for bad in ("?app=NOT-AN-APP", "?cursor=forged", "?app=demo-sandbox&cursor=%25%25"):
        refused = client.get("/account/history" + bad, headers={"Cookie": cookie})
        assert refused.status_code == 400 and 'role="alert"' in html(refused), bad
        assert refused.headers["Content-Type"].startswith("text/html")


def test_the_history_pages_with_older_entries(client, records, monkeypatch):
    monkeypatch.setattr(history_pages, "PAGE_SIZE", 2)
    token = smart_token(client, READ)
    for path in ("/fhir/Observation", "/fhir/Appointment", "/fhir/DocumentReference"):
        fhir_get(client, path, token, _count=1)
    _, cookie = sign_in(client, next_path="/account/history")
    for query in ("", "?app=demo-sandbox"):
        first = html(client.get("/account/history" + query, headers={"Cookie": cookie}))
        assert len(entries(first)) == 2 and "Retour aux plus récents" not in first
        # The last call was refused (no DocumentReference scope): newest, so first.
        assert entries(first) == ["refused", "allowed"] and "a consulté un rendez-vous." in first
        assert "a voulu consulter des documents : accès refusé." in first
        assert "Motif : vous n'aviez pas autorisé l'application à accéder à ce type de données." in first
        older = re.search(r'<a href="([^"]+)" rel="next">Accès plus anciens</a>', first).group(1).replace("&amp;", "&")
        assert older.startswith("/account/history?") and ("app=demo-sandbox" in older) == bool(query)
        second = html(client.get(older, headers={"Cookie": cookie}))
        assert len(entries(second)) == 1 and 'rel="next"' not in second
        assert "Retour aux plus récents" in second and "a consulté une mesure de santé." in second


def test_signed_out_visitors_are_sent_to_sign_in(client):
    answer = client.get("/account/history")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/account/sign-in?" + urlencode({"next": "/account/history"})
    filtered = client.get("/account/history?app=demo-sandbox")
    expected = "/account/sign-in?" + urlencode({"next": "/account/history?app=demo-sandbox"})
    assert filtered.headers["Location"] == expected


def test_another_citizens_accesses_never_appear(client, records, monkeypatch):
    monkeypatch.setattr(history_pages, "PAGE_SIZE", 1)
    token = smart_token(client, READ)
    for _ in range(2):
        fhir_get(client, "/fhir/Observation", token, _count=1)
    _, alice = sign_in(client, next_path="/account/history")
    alices = html(client.get("/account/history", headers={"Cookie": alice}))
    cursor = re.search(r'<a href="/account/history\?cursor=([^"]+)" rel="next"', alices).group(1)
    _, karim = sign_in(client, who="demo-karim", next_path="/account/history")
    page = html(client.get("/account/history", headers={"Cookie": karim}))
    assert entries(page) == [] and "Aucune application n'a encore accédé à votre dossier." in page
    assert "Karim Benali" in page and SANDBOX not in page
    with_alices_cursor = html(client.get(f"/account/history?cursor={cursor}", headers={"Cookie": karim}))
    assert entries(with_alices_cursor) == [] and SANDBOX not in with_alices_cursor
    by_app = html(client.get("/account/history?app=demo-sandbox", headers={"Cookie": karim}))
    assert entries(by_app) == []


def test_a_refused_access_says_so_and_why(client, records):
    token = smart_token(client, READ)
    assert fhir_get(client, "/fhir/Observation", token, _count=1).status_code == 200
    _, cookie = sign_in(client, next_path="/account/history")
    assert client.delete("/me/consents/demo-sandbox", headers={"Cookie": cookie}).status_code == 200
    assert fhir_get(client, "/fhir/Observation", token, _count=1).status_code == 401
    body = html(client.get("/account/history", headers={"Cookie": cookie}))
    assert entries(body) == ["refused", "allowed"]
    assert f"{SANDBOX} a voulu consulter des mesures de santé : accès refusé." in body
    assert "Motif : votre accord avait été retiré, avait expiré ou avait été remplacé." in body
    english = html(client.get("/account/history?lang=en", headers={"Cookie": cookie}))
    assert f"{SANDBOX} tried to read health measures: access refused." in english
    assert "Reason: your consent had been withdrawn" in english
    # The app stays in the filter after its consent ended.
    assert '<option value="demo-sandbox">' in body


def test_the_consent_page_says_what_online_access_means(client):
    online = html(signed_in(client, authorize_url(pkce()[1], login_hint="demo-alice",
                                           scope="launch/patient patient/Observation.rs online_access")))
    assert "seulement tant que vous restez connecté·e à Mon espace santé" in online
    assert "The app keeps access only while you stay signed in to Mon espace santé" in online
    assert "quand vous ne l'utilisez pas" not in online
    offline = html(signed_in(client, authorize_url(pkce()[1], login_hint="demo-alice",
                                            scope="launch/patient patient/Observation.rs offline_access")))
    assert "quand vous ne l'utilisez pas" in offline and "tant que vous restez connecté·e" not in offline
    both = html(signed_in(client, authorize_url(pkce()[1], login_hint="demo-alice",
                                         scope="launch/patient patient/Observation.rs online_access offline_access")))
    assert "tant que vous restez connecté·e" not in both, "offline_access is the wider of the two"
    neither = html(signed_in(client, authorize_url(pkce()[1], login_hint="demo-alice")))
    assert "tant que vous restez connecté·e" not in neither and "quand vous ne l'utilisez pas" not in neither

"""The citizen's pages over the Chalice test client: catalogue, app page, sign-in and sign-out,
my consents and withdrawing one, languages, security headers and CSRF."""
import base64
import dataclasses
import hashlib
import re
from urllib.parse import parse_qs, urlencode, urlsplit

from chalice import Chalice
from chalice.test import Client

from chalicelib.catalog.models import HEAD_VERSION, AppHead
from chalicelib.clock import utc_now
from chalicelib.config import settings
from chalicelib.consent.service import ConsentService
from chalicelib.identity.citizens import CitizenSessions
from chalicelib.pages import catalog as catalog_pages
from chalicelib.pages import routes as pages_routes
from chalicelib.records.audit import AccessLog
from tests.helpers.oauth import authorize_url, pkce, read_form, signed_in
from tests.helpers.pages import FORM, cookie_pair, csrf_of, html, sign_in


def grant(patient_id="demo-alice", app_id="demo-sandbox"):
    head = AppHead.get(app_id, HEAD_VERSION)
    return ConsentService(utc_now).grant(patient_id, head, ["patient/Observation.rs", "patient/Appointment.rs"],
                                         ["launch/patient", "offline_access"], 90)


def test_the_catalogue_page_lists_the_apps_with_badges_and_safe_headers(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    headers = page.headers
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src" not in headers["Content-Security-Policy"], "no script at all"
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Content-Language"] == "fr"
    body = html(page)
    assert '<html lang="fr">' in body and 'href="#contenu"' in body and 'id="contenu"' in body
    assert body.count('class="card"') == 9
    assert 'class="badge letter-A"' in body and ".letter-E { background: #e63e11" in body
    assert "tag-compliant_with_reservations" in body and "Écoscore A, 99,1 sur 100" in body
    assert "<img" not in body and "<script" not in body


def test_the_catalogue_pages_are_cacheable_for_anonymous_visitors(client):
    """The same page for everyone not signed in: shared caches may keep it (decision 0011), and a
    browser that holds it gets 304. Its styles are allowed by hash, so that it is the same bytes."""
    for path in ("/", "/?q=diabete", "/apps/gluco-suivi"):
        page = client.get(path)
        assert page.headers["Cache-Control"] == f"public, max-age={int(settings.catalog_cache_seconds)}"
        assert page.headers["Vary"] == "Accept-Language, Cookie"
        assert client.get(path).body == page.body
        again = client.get(path, headers={"If-None-Match": page.headers["ETag"]})
        assert again.status_code == 304 and again.body == b"" and again.headers["ETag"] == page.headers["ETag"]
    style = re.search(r"<style>(.*?)</style>", page.body.decode(), re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}';" in page.headers["Content-Security-Policy"]
    english = client.get("/", headers={"Accept-Language": "en"})
    assert english.headers["ETag"] != client.get("/").headers["ETag"]


def test_a_signed_in_page_is_never_shared_but_revalidates(client):
    _, cookie = sign_in(client, next_path="/")
    page = client.get("/", headers={"Cookie": cookie})
    assert "Alice" in html(page)
    assert page.headers["Cache-Control"] == "private, no-cache"
    again = client.get("/", headers={"Cookie": cookie, "If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304
    anonymous = client.get("/")
    assert "Alice" not in html(anonymous) and anonymous.headers["ETag"] != page.headers["ETag"]
    switched = client.get("/?lang=en")  # a page that sets a cookie is nobody else's
    assert "Set-Cookie" in switched.headers and switched.headers["Cache-Control"] == "no-store"


def test_the_catalogue_filters(client):
    cases = [({"q": "diabete"}, ["GlucoSuivi"], ["Neuf Lunes"]),
             ({"category": "parenthood"}, ["Neuf Lunes"], ["GlucoSuivi"]),
             ({"min_ecoscore": "A", "sort": "ecoscore"}, ["Balance Horizon"], ["VisioSoin", "GlucoSuivi"]),
             ({"q": "", "category": "", "min_ecoscore": ""}, ["VisioSoin", "GlucoSuivi"], [])]
    for query, expected, absent in cases:
        body = html(client.get("/?" + urlencode(query)))
        assert all(f">{name}</a>" in body for name in expected), query
        assert not any(f">{name}</a>" in body for name in absent), query


def test_bad_filters_give_a_page_that_says_so(client):
    page = client.get("/?min_ecoscore=Z&cursor=forged")
    assert page.status_code == 400 and 'role="alert"' in html(page)
    assert page.headers["Content-Type"].startswith("text/html")


def test_the_catalogue_pages_with_its_cursor(client, monkeypatch):
    monkeypatch.setattr(catalog_pages, "PAGE_SIZE", 4)
    first = html(client.get("/?sort=ecoscore"))
    assert first.count('class="card"') == 4
    next_url = re.search(r'<a href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(next_url).query)["sort"] == ["ecoscore"]
    second = html(client.get(next_url))
    assert second.count('class="card"') == 4 and "Retour au début" in second
    names = lambda body: set(re.findall(r'<h3><a href="/apps/([^"]+)"', body))  # noqa: E731
    assert not names(first) & names(second)


def test_an_app_page_shows_data_ecoscore_chart_compliance_and_period(client):
    page = client.get("/apps/demo-sandbox")
    assert page.status_code == 200
    body = html(page)
    assert "<h1>Bac à sable développeurs</h1>" in body
    assert "Lire vos mesures de santé" in body and "Afficher les mesures du patient fictif." in body
    assert re.search(r'<svg class="chart" role="img" aria-labelledby="chart-title"', body)
    assert body.count("<rect ") == 4
    assert "Urbanisation" in body and "Sécurité" in body and "Référencée du " in body
    assert "Agence du numérique en santé (démonstration)" in body
    assert 'rel="noopener noreferrer external"' in body


def test_an_unknown_app_is_an_html_404(client):
    for app_id in ("no-such-app", "UPPER", "x" * 300):
        page = client.get(f"/apps/{app_id}")
        assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
        assert "n'existe pas" in html(page) and page.headers["X-Frame-Options"] == "DENY"


def test_languages_follow_the_switch_then_the_cookie_then_the_browser(client):
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert '<html lang="en">' in html(english) and english.headers["Content-Language"] == "en"
    assert "App catalogue" in html(english) and 'href="/?lang=fr"' in html(english)
    switched = client.get("/apps/gluco-suivi?lang=en")
    cookie = cookie_pair(switched, "mes_lang")
    assert cookie == "mes_lang=en" and "Écoscore: environmental impact" in html(switched)
    assert all(flag in switched.headers["Set-Cookie"] for flag in ("HttpOnly", "SameSite=Lax", "Secure"))
    assert '<html lang="en">' in html(client.get("/", headers={"Cookie": cookie}))
    assert '<html lang="fr">' in html(client.get("/?lang=fr", headers={"Cookie": cookie}))
    assert '<html lang="fr">' in html(client.get("/", headers={"Accept-Language": "de-DE,fr;q=0.8,en;q=0.7"}))


def test_sign_in_with_the_demo_picker_goes_to_next_with_a_new_session(client):
    page = client.get("/account/sign-in?next=/account/consents")
    assert page.status_code == 200
    body = html(page)
    assert body.count('name="login_hint"') == 3 and "FranceConnect" not in body
    assert all(flag in page.headers["Set-Cookie"] for flag in ("HttpOnly", "SameSite=Lax", "Secure"))
    before = cookie_pair(page)
    answer = client.post("/account/sign-in", headers={**FORM, "Cookie": before}, body=urlencode(
        {"csrf_token": csrf_of(page), "login_hint": "demo-karim", "next": "/account/consents"}))
    assert answer.status_code == 303 and answer.headers["Location"] == "/account/consents"
    after = cookie_pair(answer)
    assert after and after != before, "a new session id at sign-in"
    assert client.get("/account/consents", headers={"Cookie": before}).status_code == 303
    mine = client.get("/account/consents", headers={"Cookie": after})
    assert mine.status_code == 200 and "Karim Benali" in html(mine)


def test_sign_in_never_redirects_off_site(client):
    for next_path in ("//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)",
                      "/ok\r\nLocation: x", "/\u3002evil", "/caf\u00e9", ""):
        answer, _ = sign_in(client, next_path=next_path)
        assert answer.headers["Location"] == "/account/consents", next_path


def test_sign_in_refuses_a_form_without_its_csrf_token_or_with_an_unknown_person(client):
    page = client.get("/account/sign-in")
    cookie = cookie_pair(page)
    forged = client.post("/account/sign-in", headers={**FORM, "Cookie": cookie},
                         body=urlencode({"csrf_token": "guess", "login_hint": "demo-alice"}))
    assert forged.status_code == 403 and "Location" not in forged.headers
    no_session = client.post("/account/sign-in", headers=FORM,
                             body=urlencode({"csrf_token": csrf_of(page), "login_hint": "demo-alice"}))
    assert no_session.status_code == 403
    stranger = client.post("/account/sign-in", headers={**FORM, "Cookie": cookie},
                           body=urlencode({"csrf_token": csrf_of(page), "login_hint": "someone-else"}))
    assert stranger.status_code == 400


def test_signed_out_citizens_are_sent_to_sign_in(client):
    for path in ("/account/consents", "/account/consents/demo-sandbox/revoke"):
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["Location"] == "/account/sign-in?" + urlencode({"next": path})


def test_my_consents_then_withdraw_one_with_confirmation(client):
    grant()
    _, cookie = sign_in(client)
    mine = html(client.get("/account/consents", headers={"Cookie": cookie}))
    assert "Bac à sable développeurs" in mine and "Lire vos mesures de santé" in mine
    assert "Garder l'accès quand vous n'utilisez pas" in mine
    assert 'href="/me/consents/demo-sandbox/receipt" download' in mine
    assert 'href="/account/consents/demo-sandbox/revoke"' in mine

    confirm = client.get("/account/consents/demo-sandbox/revoke", headers={"Cookie": cookie})
    assert confirm.status_code == 200 and "Oui, retirer l'accès" in html(confirm)
    forged = client.post("/account/consents/demo-sandbox/revoke", headers={**FORM, "Cookie": cookie},
                         body=urlencode({"csrf_token": "guess"}))
    assert forged.status_code == 403
    assert client.get("/me/consents", headers={"Cookie": cookie}).json_body["active"], "still active"

    done = client.post("/account/consents/demo-sandbox/revoke", headers={**FORM, "Cookie": cookie},
                       body=urlencode({"csrf_token": csrf_of(confirm)}))
    assert done.status_code == 303 and done.headers["Location"] == "/account/consents?revoked=demo-sandbox"
    after = html(client.get(done.headers["Location"], headers={"Cookie": cookie}))
    assert "C'est fait : Bac à sable développeurs n'a plus accès" in after and "retiré" in after
    consents = client.get("/me/consents", headers={"Cookie": cookie}).json_body
    assert not consents["active"] and consents["past"][0]["status"] == "revoked"
    again = client.get("/account/consents/demo-sandbox/revoke", headers={"Cookie": cookie})
    assert again.status_code == 404 and again.headers["Content-Type"].startswith("text/html")
    receipt = client.get("/me/consents/demo-sandbox/receipt", headers={"Cookie": cookie})
    assert receipt.status_code == 200 and receipt.json_body["status"] == "revoked"
    printable = client.get("/account/consents/demo-sandbox/receipt", headers={"Cookie": cookie})
    assert printable.status_code == 200
    assert "Reçu de consentement : Bac à sable développeurs" in html(printable) and "Retiré le" in html(printable)
    assert client.get("/account/consents/demo-sandbox/receipt").status_code == 303
    assert client.get("/account/consents/visiosoin/receipt", headers={"Cookie": cookie}).status_code == 404


def test_sign_out_needs_its_csrf_token_and_ends_the_session(client):
    _, cookie = sign_in(client)
    page = client.get("/", headers={"Cookie": cookie})
    assert "Connecté·e : Alice Martin" in html(page) and 'action="/account/sign-out"' in html(page)
    refused = client.post("/account/sign-out", headers={**FORM, "Cookie": cookie}, body="csrf_token=guess")
    assert refused.status_code == 403
    done = client.post("/account/sign-out", headers={**FORM, "Cookie": cookie},
                       body=urlencode({"csrf_token": csrf_of(page)}))
    assert done.status_code == 303 and done.headers["Location"] == "/"
    assert "Max-Age=0" in done.headers["Set-Cookie"]
    assert client.get("/account/consents", headers={"Cookie": cookie}).status_code == 303


def test_franceconnect_is_offered_when_configured(demo_apps, catalog_service):
    configured = dataclasses.replace(settings, citizen_oidc={"issuer": "https://fc.example", "client_id": "x"})
    app = Chalice(app_name="pages-with-franceconnect")
    app.register_blueprint(pages_routes.create_blueprint(catalog_service, ConsentService(utc_now),
                                                         CitizenSessions(utc_now), AccessLog(utc_now), configured))
    with Client(app) as client:
        body = html(client.http.get("/account/sign-in?next=/account/consents"))
    assert 'href="/signin/franceconnect?next=/account/consents"' in body
    assert "S'identifier avec FranceConnect" in body


def test_the_consent_page_is_polished_and_keeps_its_form(client):
    page = signed_in(client, authorize_url(pkce()[1], login_hint="demo-alice"))
    body = html(page)
    form = read_form(body)
    assert {name for name, _ in form.fields} >= {"csrf_token", "duration", "client_id", "state"}
    assert {(name, value) for name, value in form.buttons} >= {("decision", "allow"), ("decision", "deny")}
    assert all(name == "scope" for name, _, _ in form.checkboxes)
    assert "<img" not in body and 'href="/account/consents"' in body and 'lang="en"' in body
    assert 'href="#contenu"' in body and page.headers["X-Frame-Options"] == "DENY"


def test_a_citizen_signed_in_elsewhere_is_never_shown_by_internal_id(client):
    session_id, _ = CitizenSessions(utc_now).sign_in(None, "citizen-7f3a", signed_in_by="https://fc.example")
    page = html(client.get("/", headers={"Cookie": f"mes_session={session_id}"}))
    assert "Connecté·e</li>" in page and "citizen-7f3a" not in page
    assert 'action="/account/sign-out"' in page

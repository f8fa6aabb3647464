"""A citizen in a real browser: browse and filter the catalogue, open an app, consent through the
SMART flow, read the access history, withdraw the consent, switch language. Every page is scanned
with axe-core (no serious or critical violation), photographed into build/screenshots/ and
weighed; nothing leaves the site."""
import base64
import hashlib
import json
import re
import secrets
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import scan
from tests.helpers.export import of_type, open_archive

pytestmark = pytest.mark.e2e
REDIRECT = "http://127.0.0.1:9999/callback"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
MAX_PAGE_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def visits(browser, server):
    """Every request a page makes, so that the module can check none goes to another site."""
    return []


@pytest.fixture
def open_context(browser, server, visits):
    contexts = []

    def make(locale="fr-FR"):
        context = browser.new_context(locale=locale, viewport={"width": 1100, "height": 900})
        context.on("request", lambda request: visits.append(request.url))
        # The sandbox app's redirect URI: nothing listens there; answer as the app would.
        context.route(f"{REDIRECT}*", lambda route: route.fulfill(
            status=200, content_type="text/html", body="<!doctype html><title>App</title><p>callback</p>"))
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def check(page, name):
    """Screenshot, weight and accessibility scan of the page on screen (tests/helpers/browser.py)."""
    return scan(page, name, MAX_PAGE_BYTES, tuple(AXE_TAGS))

def test_browse_filter_and_open_an_app(open_context, server):
    page = open_context()
    response = page.goto(f"{server}/")
    assert response.status == 200
    headers = response.headers
    assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator(".card").count() >= 9
    check(page, "catalogue")

    page.keyboard.press("Tab")  # the first stop is the skip link, and it works
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.url.endswith("#contenu")

    page.get_by_label("Mots-clés").fill("diabète")
    page.get_by_role("button", name="Afficher").click()
    names = page.locator(".card h3").all_inner_texts()
    assert names and all(name for name in names) and any("Gluco" in name for name in names)

    page.goto(f"{server}/")
    page.get_by_label("Écoscore minimum").select_option("A")
    page.get_by_label("Trier par").select_option("ecoscore")
    page.get_by_role("button", name="Afficher").click()
    letters = page.locator(".card .badge").all_inner_texts()
    assert letters and set(letters) == {"A"}

    page.goto(f"{server}/")
    page.get_by_label("Catégorie").select_option("developer")
    page.get_by_role("button", name="Afficher").click()
    page.get_by_role("link", name="Bac à sable développeurs").click()
    assert urlsplit(page.url).path == "/apps/demo-sandbox"
    assert page.locator("h1").inner_text() == "Bac à sable développeurs"
    expect(page.locator("svg.chart rect")).to_have_count(4)
    expect(page.get_by_role("img", name=re.compile("Notes de l'écoscore"))).to_have_count(1)
    check(page, "app")

    missing = page.goto(f"{server}/apps/no-such-app")
    assert missing.status == 404 and "text/html" in missing.headers["content-type"]
    check(page, "not-found")


def pkce():
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_consent_then_withdraw_it(open_context, server):
    from playwright.sync_api import expect  # here: the module loads (and skips) without Playwright
    page = open_context()
    verifier, challenge = pkce()
    page.goto(f"{server}/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": "demo-sandbox", "redirect_uri": REDIRECT,
        "scope": "launch/patient patient/Observation.rs patient/Appointment.rs offline_access",
        "state": "browser-state", "aud": f"{server}/fhir", "code_challenge": challenge,
        "code_challenge_method": "S256"}))
    check(page, "sign-in-picker")
    page.get_by_label(re.compile("Alice Martin")).check()
    page.get_by_role("button", name=re.compile("Se connecter")).click()
    check(page, "for-whom")  # Alice represents her children: for whom is it? For herself (the default)
    page.get_by_role("button", name=re.compile("Continuer")).click()

    expect(page.locator("input[name=scope]")).to_have_count(2)
    check(page, "consent")
    page.get_by_label(re.compile("Lire votre agenda")).uncheck()
    page.get_by_label(re.compile("Durée")).select_option("90")
    page.get_by_role("button", name=re.compile("Autoriser")).click()
    page.wait_for_url(f"{REDIRECT}*")
    answer = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert answer["state"] == "browser-state"
    token = page.request.post(f"{server}/oauth/token", form={
        "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": REDIRECT,
        "client_id": "demo-sandbox", "code_verifier": verifier}).json()
    assert "patient/Observation.rs" in token["scope"] and "Appointment" not in token["scope"]
    measures = fhir_get(server, token, "Observation?_count=5")
    assert measures["resourceType"] == "Bundle"
    read = len(measures.get("entry", []))

    page.goto(f"{server}/account/consents")
    expect(page.get_by_role("heading", name="Bac à sable développeurs")).to_have_count(1)
    check(page, "my-consents")
    receipt = page.request.get(f"{server}/me/consents/demo-sandbox/receipt")
    assert receipt.ok and receipt.json()["app"]["app_id"] == "demo-sandbox"
    page.get_by_role("link", name="Reçu de Bac à sable développeurs", exact=True).click()
    expect(page.get_by_text("Lire vos mesures de santé")).to_have_count(1)
    check(page, "receipt")
    page.go_back()

    page.get_by_role("link", name="Historique des accès", exact=True).first.click()
    assert urlsplit(page.url).path == "/account/history"
    timeline = page.locator("ol.timeline > li")
    expect(timeline).to_have_count(1)  # waits for the page the click loads
    assert timeline.first.locator("time").get_attribute("datetime").endswith("Z")
    assert f"Bac à sable développeurs a consulté {read} mesures de santé." in timeline.first.inner_text()
    page.get_by_label("Application", exact=True).select_option("demo-sandbox")
    page.get_by_role("button", name="Afficher").click()
    assert parse_qs(urlsplit(page.url).query)["app"] == ["demo-sandbox"]
    expect(page.locator("ol.timeline > li")).to_have_count(1)  # the URL changes before the page is loaded
    check(page, "history")
    page.goto(f"{server}/account/consents")

    page.get_by_role("link", name=re.compile("Retirer l'accès de Bac à sable")).click()
    assert urlsplit(page.url).path == "/account/consents/demo-sandbox/revoke"
    check(page, "withdraw-confirm")
    page.get_by_role("button", name="Oui, retirer l'accès").click()
    assert page.get_by_role("status").first.inner_text().startswith("C'est fait")
    assert "Aucune application n'a accès" in page.locator("#active + *").inner_text()
    assert page.locator("section[aria-labelledby=past] .tag").inner_text() == "retiré"
    check(page, "my-consents-after")
    refused = page.request.post(f"{server}/oauth/token", form={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": "demo-sandbox"})
    assert refused.status == 400
    with pytest.raises(HTTPError) as after:
        fhir_get(server, token, "Observation?_count=5")
    assert after.value.code == 401
    page.goto(f"{server}/account/history")
    expect(page.locator("ol.timeline > li")).to_have_count(2)
    assert "accès refusé" in page.locator("ol.timeline > li.refused").inner_text()
    check(page, "history-refused")

    page.get_by_role("button", name="Se déconnecter").click()
    assert urlsplit(page.url).path == "/"
    page.goto(f"{server}/account/consents")
    assert urlsplit(page.url).path == "/account/sign-in"


def fhir_get(server, token, path):
    """One FHIR call as the app makes it, straight to the local server (not through the browser)."""
    request = Request(f"{server}/fhir/{path}", headers={"Authorization": f"Bearer {token['access_token']}",
                                                        "Accept": "application/fhir+json"})
    with urlopen(request, timeout=10) as answer:  # noqa: S310 - the local test server
        return json.loads(answer.read())


def test_languages_and_the_sign_in_page(open_context, server):
    page = open_context(locale="en-GB")
    page.goto(f"{server}/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "App catalogue"
    page.get_by_role("link", name="Français").click()
    page.wait_for_url("**lang=fr*")
    assert page.locator("h1").inner_text() == "Catalogue des applications"
    page.goto(f"{server}/apps/gluco-suivi")  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**lang=en*")  # count() does not wait for the page the click loads
    expect(page.get_by_role("heading", name="Écoscore: environmental impact")).to_have_count(1)
    check(page, "app-en")

    page.goto(f"{server}/account/consents")
    assert urlsplit(page.url).path == "/account/sign-in"
    check(page, "sign-in-en")
    page.get_by_label(re.compile("Karim Benali")).check()
    page.get_by_role("button", name="Sign in").click()
    assert urlsplit(page.url).path == "/account/consents"
    expect(page.get_by_text("No app has access to your record.")).to_have_count(1)


def test_a_parent_authorises_an_app_for_their_teenager(open_context, server):
    """Alice picks Noah (16) at authorization; the app reads his measures, never the document he
    hid from his representatives; his history says who acted."""
    page = open_context()
    verifier, challenge = pkce()
    page.goto(f"{server}/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": "demo-sandbox", "redirect_uri": REDIRECT,
        "scope": "launch/patient patient/Observation.rs patient/DocumentReference.rs", "state": "teen",
        "aud": f"{server}/fhir", "code_challenge": challenge, "code_challenge_method": "S256", "prompt": "consent"}))
    page.get_by_label(re.compile("Alice Martin")).check()
    page.get_by_role("button", name=re.compile("Se connecter")).click()
    page.get_by_label(re.compile("Noah Martin")).check()
    page.get_by_role("button", name=re.compile("Continuer")).click()
    expect(page.get_by_text(re.compile("Pour le dossier de Noah Martin"))).to_have_count(1)
    check(page, "consent-for-a-child")
    page.get_by_role("button", name=re.compile("Autoriser")).click()
    page.wait_for_url(f"{REDIRECT}*")
    code = parse_qs(urlsplit(page.url).query)["code"][0]
    token = page.request.post(f"{server}/oauth/token", form={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": "demo-sandbox", "code_verifier": verifier}).json()
    measures = fhir_get(server, token, "Observation?_count=5")
    assert measures["entry"] and all(e["resource"]["subject"]["reference"] == f"Patient/{token['patient']}"
                                     for e in measures["entry"])
    documents = fhir_get(server, token, "DocumentReference?_count=50")
    assert len(documents["entry"]) == documents["total"] == 8
    assert "demo-secret" not in {entry["resource"]["id"] for entry in documents["entry"]}
    try:
        fhir_get(server, token, "DocumentReference/demo-secret")
        raise AssertionError("the hidden document was read")
    except HTTPError as error:
        assert error.code == 404

    page.goto(f"{server}/account/relatives")
    expect(page.get_by_text("Noah Martin").first).to_be_visible()
    check(page, "relatives")
    page.get_by_role("button", name="Voir l'espace de Noah Martin").click()
    assert urlsplit(page.url).path == "/account/consents"
    expect(page.get_by_text(re.compile("Vous consultez l'espace de Noah Martin"))).to_have_count(1)
    check(page, "relative-consents")
    page.goto(f"{server}/account/history")
    expect(page.get_by_text("Par Alice Martin, pour Noah").first).to_be_visible()
    check(page, "relative-history")
    page.get_by_role("button", name="Revenir à mon espace").click()
    expect(page.get_by_text(re.compile("Vous consultez"))).to_have_count(0)


def test_a_citizen_invites_a_proxy_who_accepts_and_then_it_is_ended(open_context, server):
    """Léa invites Karim for her measures from "Mes proches"; Karim opens the link, signs in and
    accepts; Léa ends it. Each page is scanned."""
    lea = open_context()
    lea.goto(f"{server}/account/relatives")
    lea.get_by_label(re.compile("Léa Dupont")).check()
    lea.get_by_role("button", name=re.compile("Se connecter")).click()
    lea.get_by_label("Prénom").fill("Karim")
    lea.get_by_label("Nom de famille").fill("Benali")
    lea.get_by_label("Date de naissance").fill("1951-11-02")
    lea.get_by_label(re.compile("Mesures de santé")).check()
    lea.get_by_role("button", name="Créer l'invitation").click()
    lea.get_by_label("Lien d'invitation").wait_for()
    link = lea.get_by_label("Lien d'invitation").input_value()
    check(lea, "proxy-invited")

    karim = open_context()
    karim.goto(link)
    karim.get_by_label(re.compile("Karim Benali")).check()
    karim.get_by_role("button", name=re.compile("Se connecter")).click()
    karim.get_by_text(re.compile("Léa Dupont vous invite")).wait_for()  # the page after the sign-in
    check(karim, "proxy-invitation")
    karim.get_by_role("button", name="Accepter").click()
    karim.get_by_text(re.compile("vous êtes son proche choisi·e pour : mesures")).wait_for()
    check(karim, "relatives-proxy")

    lea.goto(f"{server}/account/relatives")
    lea.get_by_text(re.compile("votre proche choisi·e pour : mesures")).wait_for()
    lea.get_by_role("button", name="Mettre fin : Karim Benali").click()
    lea.get_by_text(re.compile("C'est terminé")).wait_for()
    karim.reload()
    expect(karim.get_by_text("Léa Dupont")).to_have_count(0)


def test_download_my_data(open_context, server):
    """Ask for the archive, wait for it on the page (no script: the citizen refreshes), download
    it, and find the whole record in it."""
    page = open_context()
    page.goto(f"{server}/account/export")
    assert urlsplit(page.url).path == "/account/sign-in"
    page.get_by_label(re.compile("Léa Dupont")).check()
    page.get_by_role("button", name=re.compile("Se connecter")).click()
    assert urlsplit(page.url).path == "/account/export"
    check(page, "export")
    page.get_by_role("button", name="Préparer mon archive").click()
    download_link = page.get_by_role("link", name="Télécharger l'archive (zip)")
    for _ in range(60):
        if download_link.count():
            break
        if page.get_by_role("link", name="Actualiser").count():
            check(page, "export-running")
            page.get_by_role("link", name="Actualiser").click()
        page.wait_for_timeout(250)
    expect(page.get_by_text("Votre archive est prête")).to_have_count(1)
    check(page, "export-ready")
    with page.expect_download() as started:
        download_link.click()
    download = started.value
    assert re.fullmatch(r"mon-espace-sante-\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    with open(download.path(), "rb") as archive:
        parts = open_archive(archive.read())
    (patient,) = of_type(parts["bundle"], "Patient")
    assert patient["name"][0]["given"] == ["Léa"]
    assert of_type(parts["bundle"], "Observation") and of_type(parts["bundle"], "DocumentReference")


def test_nothing_was_requested_from_another_site(visits, server):
    # The archive's download comes from the documents bucket (S3; moto's locally), by a pre-signed link.
    others = [url for url in visits if not url.startswith((server, REDIRECT)) and "/exports/" not in url]
    assert visits and not others, others

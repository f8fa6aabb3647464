"""The referencing portal in a real browser, end to end: a publisher files a listing with
problems, sees them next to their fields, is refused at submission, fixes them, uploads a piece of
evidence straight to S3 (moto's) and submits; a reviewer decides and publishes, and the app is in
the citizen catalogue; then suspends it. Every page is scanned with axe-core (no serious or
critical violation) and photographed into build/screenshots/portal-*.png."""
import json
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import scan
from tests.helpers.portal import listing_fields, walkthrough

pytestmark = pytest.mark.e2e
FORM_BYTES = 64 * 1024  # the listing form too, with every criterion and scope, stays under 64 KB
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(scope="module")
def page(browser, server):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1100, "height": 900})
    yield context.new_page()
    context.close()


def fill_listing(page, document, **changes):
    """Types a listing into the form, field by field, as a publisher would."""
    kinds = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[name]')].map(
        e => [e.name, e.tagName.toLowerCase() + ':' + (e.type || '')]))""")  # one round trip, not one a field
    for name, value in listing_fields(document, **changes):
        field = page.locator(f'[name="{name}"]') if name != "platforms" else \
            page.locator(f'input[name="platforms"][value="{value}"]')
        kind = kinds[name]
        if kind.startswith("select"):
            field.select_option(value)
        elif kind.endswith("checkbox"):
            field.set_checked(bool(value))
        else:
            field.fill(value)


def sign_in_as(page, server, who):
    page.goto(f"{server}/portal")
    assert urlsplit(page.url).path == "/portal/sign-in"
    page.get_by_label(re.compile(who)).check()
    page.get_by_role("button", name="Se connecter").click()


def test_a_listing_goes_from_problems_to_the_catalogue(page, server):
    page.goto(f"{server}/portal/apps")
    assert urlsplit(page.url).path == "/portal/sign-in"
    scan(page, "portal-sign-in")
    sign_in_as(page, server, "Inès Moreau")
    assert urlsplit(page.url).path == "/portal/apps"
    scan(page, "portal-my-apps-empty")

    page.get_by_role("link", name="Nouvelle application").first.click()
    scan(page, "portal-new-app", FORM_BYTES)
    fill_listing(page, walkthrough("listing-with-problems.json"))
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    assert page.get_by_role("status").first.inner_text() == "Brouillon enregistré."
    version_url = page.url.split("?")[0]
    app_id = urlsplit(version_url).path.split("/")[3]
    problems = page.locator("#problems li")
    expect(problems).to_have_count(3)
    assert page.locator("#f-third_parties-1-purpose").get_attribute("aria-invalid") == "true"
    assert "ETH-05" in page.locator("#f-third_parties-1-purpose").evaluate(
        "e => document.getElementById(e.getAttribute('aria-describedby').trim()).textContent")
    scan(page, "portal-listing-problems", FORM_BYTES)

    page.get_by_role("button", name="Enregistrer et déposer").click()
    assert "pas déposé" in page.get_by_role("alert").first.inner_text()
    expect(page.locator("#problems li")).to_have_count(3)
    scan(page, "portal-submit-refused", FORM_BYTES)

    fixed = walkthrough("listing.json")
    fill_listing(page, fixed, **{"third_parties.1.name": "", "third_parties.1.purpose": "",
                                 "third_parties.1.country": ""})
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_text("Les vérifications automatiques passent")).to_have_count(1)

    page.locator("#evidence-ETH-01").get_by_role("link", name=re.compile("Joindre un fichier")).click()
    scan(page, "portal-upload")
    page.get_by_label("Fichier").set_input_files({"name": "registre-dpo.pdf", "mimeType": "application/pdf",
                                                  "buffer": b"%PDF-" + b"0" * (10 * 1024 * 1024 + 1)})
    upload_page = page.url
    page.get_by_role("button", name="Envoyer le fichier").click()
    assert "il dépasse 10 Mo" in page.get_by_role("alert").inner_text()
    assert page.url == upload_page  # refused in the browser, before S3 (whose own refusal is an XML page)
    scan(page, "portal-upload-too-large")
    page.get_by_label("Fichier").set_input_files({"name": "registre-dpo.pdf", "mimeType": "application/pdf",
                                                  "buffer": PDF})
    page.get_by_role("button", name="Envoyer le fichier").click()
    assert page.get_by_role("status").first.inner_text().startswith("Fichier reçu")
    expect(page.locator("#evidence-ETH-01 code")).to_have_count(1)  # its SHA-256
    page.get_by_role("button", name="Enregistrer et déposer").click()
    assert page.get_by_role("status").first.inner_text().startswith("Fiche déposée")
    scan(page, "portal-submitted", FORM_BYTES)
    page.goto(f"{server}/portal/apps")
    assert "la commission instruit la version 1" in page.locator("tbody").inner_text()
    scan(page, "portal-my-apps")
    page.get_by_role("link", name="Carnet Tension").click()
    scan(page, "portal-app")
    page.get_by_role("button", name="Se déconnecter").click()

    sign_in_as(page, server, "Dr Claire Dubois")
    assert urlsplit(page.url).path == "/portal/review"
    scan(page, "portal-queue")
    page.get_by_role("link", name=re.compile("Carnet Tension")).click()
    expect(page.get_by_role("link", name=re.compile("Fichier 1 pour ETH-01"))).to_have_count(1)
    scan(page, "portal-review-version", FORM_BYTES)
    for select in page.locator("select[name^='result.']").all():
        select.select_option("pass")
    page.get_by_label("Avis de la commission").select_option("favourable")
    page.get_by_label("Commentaire pour l'éditeur").fill("Dossier complet.")
    page.get_by_role("button", name="Enregistrer la décision").click()
    assert page.get_by_role("status").first.inner_text().startswith("Décision enregistrée")
    scan(page, "portal-review-app")

    page.goto(f"{server}/apps/{app_id}")
    assert page.locator("h1").inner_text() == "Carnet Tension"
    page.goto(f"{server}/portal/review/apps")
    scan(page, "portal-published-apps")
    page.goto(f"{server}/portal/review/activity")
    scan(page, "portal-activity")
    page.goto(f"{server}/portal/review/apps/{app_id}")
    page.get_by_role("link", name="Suspendre").click()
    assert "disparaît du catalogue" in page.locator("main").inner_text()
    scan(page, "portal-suspend-confirm")
    page.get_by_role("button", name="Oui, suspendre").click()
    assert "Indiquez le motif" in page.locator("main").inner_text()
    scan(page, "portal-suspend-no-reason")
    page.get_by_label(re.compile("Motif")).fill("Incident de sécurité signalé")
    page.get_by_role("button", name="Oui, suspendre").click()
    assert page.get_by_role("status").first.inner_text() == "Application suspendue."
    assert page.request.get(f"{server}/catalog/apps/{app_id}").status == 404
    page.get_by_role("button", name="Se déconnecter").click()

    sign_in_as(page, server, "Inès Moreau")
    page.get_by_role("link", name="Carnet Tension").click()
    page.get_by_role("link", name="version 1", exact=True).click()
    scan(page, "portal-listing-read-only", FORM_BYTES)
    page.go_back()
    assert json.dumps(page.locator("main").inner_text(), ensure_ascii=False).count("suspendue") >= 1


def test_the_version_history_and_the_english_pages(page, server):
    page.goto(f"{server}/portal/sign-in?lang=en")
    page.get_by_label(re.compile("Camille Martin")).check()
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{server}/portal/apps/demo-sandbox")
    page.get_by_role("button", name="Prepare a new version").click()
    page.get_by_label("App name").fill("Bac à sable développeurs 2")
    page.get_by_role("button", name="Save the draft").click()
    page.goto(f"{server}/portal/apps/demo-sandbox")
    page.get_by_label("From version").select_option("1")
    page.get_by_label("To version").select_option("2")
    page.get_by_role("button", name="Show the differences").click()
    assert "/name" in page.locator("tbody").inner_text()
    scan(page, "portal-changes-en")

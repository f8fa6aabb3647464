"""The referencing portal's pages through Chalice's test client: sign-in and sessions of their
own, the listing form (a draft saved incomplete, every pre-check failure next to its field,
submission refused until they pass), evidence files, the version history, the commission's
queue, decision and suspension, and the attacks of a publisher on another organisation's apps."""
import boto3
import pytest

from chalicelib.config import settings
from chalicelib.referencing.evidence import MAX_BYTES
from tests.helpers.pages import FORM, cookie_pair, html
from tests.helpers.portal import csrf_in, etag_in, listing_fields, portal_sign_in, post_form, walkthrough

NEWCOMER, OTHER, REVIEWER = "publisher:newcomer", "publisher:balance-horizon", "reviewer:commission"
PDF = b"%PDF-1.4\n% evidence\n" + b"0" * 2000


@pytest.fixture
def portal(client, documents_bucket):
    return client


def get(client, path, cookie):
    return client.get(path, headers={"Cookie": cookie})


def file_a_listing(client, cookie, document):
    page = get(client, "/portal/new-app", cookie)
    answer = post_form(client, "/portal/new-app", cookie, listing_fields(document), csrf_in(page))
    assert answer.status_code == 303, html(answer)[:2000]
    location = answer.headers["Location"]
    return location.split("/")[3], location.split("?")[0]


def test_portal_sessions_are_their_own_and_need_no_bearer_token(portal):
    page = portal.get("/portal/sign-in")
    text = html(page)
    assert page.status_code == 200 and "Inès Moreau" in text and "Dr Claire Dubois" in text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    cookie = portal.post("/portal/sign-in", headers={**FORM, "Cookie": cookie_pair(page, "mes_portal")},
                         body=f"csrf_token={csrf_in(page)}&person={NEWCOMER}")
    set_cookie = cookie.headers["Set-Cookie"]
    assert set_cookie.startswith("mes_portal=") and "HttpOnly" in set_cookie and "Path=/portal" in set_cookie
    session = cookie_pair(cookie, "mes_portal")
    assert get(portal, "/portal/apps", session).status_code == 200
    # A portal session opens no citizen page, and a citizen's cookie opens no portal page.
    value = session.split("=", 1)[1]
    assert get(portal, "/account/consents", f"mes_session={value}").status_code == 303
    assert get(portal, "/portal/apps", "mes_portal=nothing").headers["Location"].startswith("/portal/sign-in")
    # The wrong role is refused; a form without its CSRF token too.
    assert get(portal, "/portal/review", session).status_code == 403
    forged = portal.post("/portal/sign-out", headers={**FORM, "Cookie": session}, body="csrf_token=forged")
    assert forged.status_code == 403


def test_file_fix_and_submit_a_listing_in_the_form(portal):
    cookie = portal_sign_in(portal, NEWCOMER)
    app_id, version_page = file_a_listing(portal, cookie, walkthrough("listing-with-problems.json"))
    page = get(portal, version_page, cookie)
    text = html(page)
    assert page.status_code == 200 and "Ce qui manque ou ne va pas encore (3)" in text
    assert "ETH-05" in text and "Les traceurs publicitaires" in text and "SEC-01" in text and "ETH-01" in text
    assert 'id="f-third_parties-1-purpose" name="third_parties.1.purpose" aria-invalid="true"' in text
    assert "Aperçu de l'écoscore" in text and "Score " in text

    submit = post_form(portal, version_page, cookie,
                       listing_fields(walkthrough("listing-with-problems.json"), action="submit",
                                      etag=etag_in(page)), csrf_in(page))
    assert submit.status_code == 422 and "pas déposé" in html(submit)
    assert "Les traceurs publicitaires" in html(submit)

    # A bad field: nothing saved, every field typed kept.
    page = get(portal, version_page, cookie)
    bad = post_form(portal, version_page, cookie, listing_fields(
        walkthrough("listing.json"), **{"publisher.contact_email": "not an e-mail", "action": "save",
                                        "etag": etag_in(page)}), csrf_in(page))
    assert bad.status_code == 422 and 'value="not an e-mail"' in html(bad)
    assert "Rien n'a été enregistré" in html(bad)

    page = get(portal, version_page, cookie)
    fixed = post_form(portal, version_page, cookie, listing_fields(
        walkthrough("listing.json"), action="submit", etag=etag_in(page)), csrf_in(page))
    assert fixed.status_code == 303 and fixed.headers["Location"].endswith("?submitted=1")
    mine = html(get(portal, "/portal/apps", cookie))
    assert app_id in mine and "la commission instruit la version 1" in mine


def s3():
    return boto3.client("s3", region_name=settings.region)


def upload(portal, cookie, app_id, criterion, data):
    form = get(portal, f"/portal/apps/{app_id}/versions/1/evidence/{criterion}", cookie)
    assert form.status_code == 200, html(form)[:500]
    assert "form-action 'self' https://" in form.headers["Content-Security-Policy"]
    key = __import__("re").search(r'name="key" value="([^"]+)"', html(form)).group(1)
    assert key.startswith(f"evidence/{app_id}/1/{criterion}/")
    s3().put_object(Bucket=settings.documents_bucket, Key=key, Body=data)  # what the browser posts to S3
    return key, get(portal, f"/portal/apps/{app_id}/versions/1/evidence/{criterion}/uploaded?key={key}", cookie)


def test_evidence_files_are_checked_hashed_attached_and_refused_clearly(portal):
    cookie = portal_sign_in(portal, NEWCOMER)
    app_id, version_page = file_a_listing(portal, cookie, walkthrough("listing.json"))
    key, answer = upload(portal, cookie, app_id, "ETH-01", PDF)
    assert answer.status_code == 303 and "attached=1" in answer.headers["Location"]
    import hashlib
    assert hashlib.sha256(PDF).hexdigest() in html(get(portal, version_page, cookie))

    big, answer = upload(portal, cookie, app_id, "ETH-01", b"%PDF-" + b"0" * MAX_BYTES)
    assert answer.headers["Location"].endswith("problem=too_large")
    refusal = html(get(portal, answer.headers["Location"], cookie))
    assert "il dépasse 10 Mo" in refusal
    assert s3().list_objects_v2(Bucket=settings.documents_bucket, Prefix=big).get("KeyCount") == 0

    _, answer = upload(portal, cookie, app_id, "ETH-01", b"<html>not a pdf</html>")
    assert answer.headers["Location"].endswith("problem=wrong_type")

    link = get(portal, f"/portal/apps/{app_id}/versions/1/files/ETH-01/0", cookie)
    assert link.status_code == 303 and "X-Amz-Expires=60" in link.headers["Location"]


def test_a_publisher_cannot_reach_another_organisations_app(portal):
    owner = portal_sign_in(portal, NEWCOMER)
    app_id, version_page = file_a_listing(portal, owner, walkthrough("listing.json"))
    key, _ = upload(portal, owner, app_id, "ETH-01", PDF)
    intruder = portal_sign_in(portal, OTHER)
    for path in (f"/portal/apps/{app_id}", version_page, f"/portal/apps/{app_id}/changes",
                 f"/portal/apps/{app_id}/versions/1/evidence/ETH-01",
                 f"/portal/apps/{app_id}/versions/1/evidence/ETH-01/uploaded?key={key}",
                 f"/portal/apps/{app_id}/versions/1/files/ETH-01/0"):
        answer = get(portal, path, intruder)
        assert answer.status_code == 403, path
        assert "X-Amz" not in str(answer.headers) and "SHA-256" not in html(answer)
    page = get(portal, "/portal/apps", intruder)
    assert app_id not in html(page)
    forged = post_form(portal, version_page, intruder, listing_fields(walkthrough("listing.json"), action="save",
                                                                      etag='"1.2"'), csrf_in(page))
    assert forged.status_code == 403
    # Its own app, with the owner's upload key: refused too (the key names another app).
    own_id, _ = file_a_listing(portal, intruder, {"name": "Intrus", "publisher": {"siret": "13517374800025"}})
    stolen = get(portal, f"/portal/apps/{own_id}/versions/1/evidence/ETH-01/uploaded?key={key}", intruder)
    assert stolen.status_code == 403


def test_the_commission_decides_publishes_and_suspends_in_the_pages(portal):
    publisher = portal_sign_in(portal, NEWCOMER)
    app_id, version_page = file_a_listing(portal, publisher, walkthrough("listing.json"))
    upload(portal, publisher, app_id, "SEC-01", PDF)
    page = get(portal, version_page, publisher)
    assert post_form(portal, version_page, publisher, listing_fields(
        walkthrough("listing.json"), action="submit", etag=etag_in(page)), csrf_in(page)).status_code == 303

    reviewer = portal_sign_in(portal, REVIEWER)
    queue = html(get(portal, "/portal/review", reviewer))
    assert f"/portal/review/apps/{app_id}/versions/1" in queue and "jour(s) ouvré(s)" in queue
    view = get(portal, f"/portal/review/apps/{app_id}/versions/1", reviewer)
    text = html(view)
    assert "Première demande" in text and f"/portal/review/files/{app_id}/1/SEC-01/0" in text
    evidence = get(portal, f"/portal/review/files/{app_id}/1/SEC-01/0", reviewer)
    assert evidence.status_code == 303 and "X-Amz-Expires=60" in evidence.headers["Location"]

    criteria = __import__("re").findall(r'name="result\.([A-Z]+-\d+)"', text)
    incomplete = post_form(portal, f"/portal/review/apps/{app_id}/versions/1", reviewer,
                           [("opinion", "favourable"), ("comment", "Presque"), ("result." + criteria[0], "pass")],
                           csrf_in(view))
    assert incomplete.status_code == 422 and "Presque" in html(incomplete)
    too_long = post_form(portal, f"/portal/review/apps/{app_id}/versions/1", reviewer,
                         [("opinion", "favourable"), ("comment", "Dossier complet."), ("period_years", "9"),
                          ("approved_scopes", "patient/Observation.rs")]
                         + [("result." + c, "pass") for c in criteria], csrf_in(view))
    assert too_long.status_code == 422 and "Dossier complet." in html(too_long)  # nothing entered is lost
    decided = post_form(portal, f"/portal/review/apps/{app_id}/versions/1", reviewer,
                        [("opinion", "favourable"), ("comment", "Dossier complet."), ("period_years", "3"),
                         ("approved_scopes", "patient/Observation.rs")]
                        + [("result." + c, "pass") for c in criteria], csrf_in(view))
    assert decided.status_code == 303, html(decided)[:3000]
    listed = portal.get(f"/catalog/apps/{app_id}")
    assert listed.status_code == 200 and listed.json_body["referencing"]["period_years"] == 3  # the commission's choice
    assert "Par défaut (référentiel) : 1 an(s)" in html(view)

    confirm = get(portal, f"/portal/review/apps/{app_id}/suspend", reviewer)
    assert "jetons" in html(confirm) and "disparaît du catalogue" in html(confirm)
    no_reason = post_form(portal, f"/portal/review/apps/{app_id}/suspend", reviewer, [("reason", "")], csrf_in(confirm))
    assert no_reason.status_code == 422 and "Indiquez le motif" in html(no_reason)
    done = post_form(portal, f"/portal/review/apps/{app_id}/suspend", reviewer, [("reason", "Incident signalé")],
                     csrf_in(confirm))
    assert done.status_code == 303
    assert portal.get(f"/catalog/apps/{app_id}").status_code == 404
    assert "suspendue" in html(get(portal, "/portal/apps", publisher))
    assert "Consentements actifs" in html(get(portal, "/portal/review/activity", reviewer))


def test_version_history_shows_what_changed_and_the_secret_once(portal):
    publisher = portal_sign_in(portal, "publisher:sandbox")
    page = get(portal, "/portal/apps/demo-sandbox", publisher)
    assert page.status_code == 200
    started = post_form(portal, "/portal/apps/demo-sandbox/versions", publisher, [], csrf_in(page))
    assert started.status_code == 303
    version_page = started.headers["Location"]
    form = get(portal, version_page, publisher)
    saved = post_form(portal, version_page, publisher, [
        (name, value) for name, value in listing_fields({}, action="save", etag=etag_in(form))], csrf_in(form))
    assert saved.status_code in (303, 422)
    changes = html(get(portal, "/portal/apps/demo-sandbox/changes?from=1&to=2", publisher))
    assert "Différences entre les versions 1 et 2" in changes

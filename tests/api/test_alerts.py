"""Citizens' access alerts: turned on from the consents page (at each access, or a daily digest),
they say which app accessed what and when, in the history page's words, French first, English
beside, in the citizen's alerts list (and a log line; e-mail through SES in production)."""
import re
from datetime import timedelta

import app as application
from chalicelib.clock import utc_now
from tests.helpers.fhir import READ_ALL
from tests.helpers.pages import session_cookie
from tests.helpers.smart import fhir_get, smart_token


def choose(client, cookie, mode, email=""):
    page = client.get("/account/consents", headers={"Cookie": cookie})
    assert page.status_code == 200
    html = page.body.decode()
    assert 'action="/account/alerts"' in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    answer = client.post("/account/alerts", body=f"csrf_token={csrf}&mode={mode}&email={email}",
                         headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/account/consents?alerts=saved"


def alerts_page(client, cookie):
    page = client.get("/account/alerts", headers={"Cookie": cookie})
    assert page.status_code == 200
    return page.body.decode()


def test_an_alert_at_each_access_says_which_app_read_what_in_both_languages(client, records, notify_pipeline):
    token = smart_token(client, READ_ALL)
    cookie = session_cookie(client, "demo-alice")
    choose(client, cookie, "each", "alice@example.org")
    assert fhir_get(client, "/fhir/Observation", token, code="http://loinc.org|29463-7", _count=5).status_code == 200
    assert notify_pipeline.settle()
    html = alerts_page(client, cookie)
    assert "Bac à sable développeurs a consulté 5 mesures" in html
    assert "Bac à sable développeurs read 5" in html


def test_a_forged_form_changes_nothing_and_off_sends_nothing(client, records, notify_pipeline):
    cookie = session_cookie(client, "demo-alice")
    forged = client.post("/account/alerts", body="csrf_token=forged&mode=each",
                         headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    assert forged.status_code == 403
    assert application.alert_service.settings("demo-alice")["mode"] == "off"
    token = smart_token(client, READ_ALL)
    fhir_get(client, "/fhir/Observation", token, _count=2)
    assert notify_pipeline.settle()
    assert "Bac à sable" not in alerts_page(client, cookie)


def test_a_daily_digest_gathers_the_days_accesses(client, records):
    token = smart_token(client, READ_ALL)
    cookie = session_cookie(client, "demo-alice")
    choose(client, cookie, "digest")
    fhir_get(client, "/fhir/Observation", token, _count=3)
    fhir_get(client, "/fhir/DocumentReference", token, _count=2)
    assert application.alert_service.digest(utc_now() + timedelta(seconds=1)) == 1
    html = alerts_page(client, cookie)
    assert "Résumé du jour" in html and html.count("Bac à sable développeurs a consulté") == 2
    assert application.alert_service.digest(utc_now() + timedelta(seconds=2)) == 0, "nothing new, no digest"

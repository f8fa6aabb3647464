"""An independent SMART on FHIR client library (fhirclient, the SMART team's Python client, used
unmodified) against the local server: discovery through /metadata, authorization with PKCE
through the consent page, reads and a write; then the citizen revokes, the next call is refused,
and the citizen's access history shows every call."""
import requests
import pytest
from fhirclient import client as smart_client
from fhirclient.models.appointment import Appointment
from fhirclient.models.documentreference import DocumentReference
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient

from tests.helpers.oauth import submit

pytestmark = pytest.mark.e2e
REDIRECT = "http://127.0.0.1:9999/callback"
SCOPE = ("patient/DocumentReference.rs patient/Appointment.rs patient/Observation.rs "
         "patient/Observation.c patient/Patient.rs")


def test_fhirclient_reads_writes_and_is_cut_off_by_revocation(server):
    base, _ = server
    saved = {}
    smart = smart_client.FHIRClient(settings={"app_id": "demo-sandbox", "api_base": f"{base}/fhir",
                                              "redirect_uri": REDIRECT, "scope": SCOPE},
                                    save_func=lambda state: saved.update(state=state))
    preflight = requests.options(f"{base}/fhir/Observation", timeout=10, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,if-match"})
    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert {"authorization", "content-type", "if-match"} <= {
        h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    url = smart.authorize_url  # fetched /fhir/metadata and found the OAuth endpoints there
    assert url.startswith(f"{base}/oauth/authorize?") and "code_challenge_method=S256" in url

    browser = requests.Session()  # the citizen; in the local stage, the demo picker signs them in
    picker = browser.get(url + "&login_hint=demo-karim", timeout=10)  # the hint pre-selects Karim
    assert 'value="demo-karim" checked' in picker.text
    consent_page = submit(browser, base, picker.text)
    assert consent_page.status_code == 200 and 'name="decision"' in consent_page.text
    answer = submit(browser, base, consent_page.text, decision="allow")
    smart.handle_callback(answer.headers["Location"])
    assert smart.ready and smart.patient_id

    patient = Patient.read(smart.patient_id, smart.server)
    assert patient.name[0].family == "Benali"
    search = DocumentReference.where({"patient": smart.patient_id, "_count": "5"})
    documents = list(search.perform_resources_iter(smart.server))  # follows the `next` link: two pages
    assert len(documents) == 8 and all(d.content[0].attachment.size > 0 for d in documents)
    appointments = Appointment.where({"patient": smart.patient_id, "date": "ge2020-01-01"}).perform_resources_iter(smart.server)
    appointments = list(appointments)
    assert any(a.status == "booked" for a in appointments) and any(a.status == "fulfilled" for a in appointments)

    measure = Observation({"resourceType": "Observation", "status": "final",
                           "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                           "effectiveDateTime": "2026-11-27T07:45:00+01:00",
                           "valueQuantity": {"value": 81.2, "unit": "kg", "system": "http://unitsofmeasure.org",
                                             "code": "kg"}})
    created = measure.create(smart.server)
    assert created["resourceType"] == "Observation" and created["meta"]["versionId"] == "1"
    weights = Observation.where({"code": "http://loinc.org|29463-7", "date": "2026-11-27T06:45:00Z"})
    assert [(w.id, w.valueQuantity.value) for w in weights.perform_resources_iter(smart.server)] == [
        (created["id"], 81.2)]

    revoked = browser.delete(f"{base}/me/consents/demo-sandbox", timeout=10)
    assert revoked.status_code == 200
    with pytest.raises(Exception) as refused:
        list(Observation.where({"code": "29463-7"}).perform_resources_iter(smart.server))
    assert "401" in str(refused.value)

    history = browser.get(f"{base}/me/access-log?app=demo-sandbox&limit=100", timeout=10).json()["entries"]
    calls = [(e["interaction"], e["resource_type"], e["outcome"]) for e in reversed(history)]
    assert calls == [("read", "Patient", "allowed"), ("search", "DocumentReference", "allowed"),
                     ("search", "DocumentReference", "allowed"), ("search", "Appointment", "allowed"), ("create", "Observation", "allowed"),
                     ("search", "Observation", "allowed"), ("search", "Observation", "refused")]

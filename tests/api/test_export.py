"""The citizen's own copy (issue 17): an archive of the whole record, built asynchronously,
downloaded by a short-lived link, refused to anyone but the citizen."""
import threading
from datetime import datetime, timedelta, timezone

import boto3
import pytest

import app as application
from chalicelib.config import settings
from chalicelib.records.models import RecordItem
from chalicelib.records.resources import Codec
from chalicelib.records.store import RecordStore
from chalicelib.terminology import load_terminology
from tests.helpers.export import archive_of, of_type, open_archive, wait_for_export
from tests.helpers.fhir import READ_ALL, WRITE_ALL, pdf_document, weight
from tests.helpers.pages import FORM, csrf_of, html, session_cookie
from tests.helpers.smart import auth, fhir_get, fhir_post, smart_token

MEASURES = 3_000  # more than 1 MB of measures: the worker reads them over several Query pages
# (bench/export.py measures 10,000)


def many_measures(patient_id, count):
    codec = Codec(load_terminology(settings.catalog_dir), settings.fhir_base_url)
    start = datetime(2020, 1, 1, 7, tzinfo=timezone.utc)
    now = datetime.now(timezone.utc)

    def items():
        for number in range(count):
            when = (start + timedelta(hours=6 * number)).isoformat()
            indexed = codec.check("Observation", weight(60 + number % 30, when), "x", now)
            yield RecordItem.of(patient_id, "Observation", f"bulk{number:05d}", indexed, "demo-sandbox", now)
    return RecordStore().save_all(items())


@pytest.fixture
def alice(client, records, documents_bucket):
    """Alice's session, an app she consented to that wrote a large document (in S3) and read her
    record, and one of her documents hidden from apps."""
    token = smart_token(client, WRITE_ALL)
    created = fhir_post(client, "/fhir/DocumentReference", token, pdf_document(150_000))
    assert created.status_code == 201
    assert fhir_get(client, "/fhir/Observation", token).status_code == 200
    cookie = session_cookie(client, "demo-alice")
    documents = client.get("/me/documents", headers={"Cookie": cookie}).json_body["documents"]
    hidden = documents[-1]["id"]
    answer = client.put(f"/me/documents/{hidden}/visibility", body='{"hidden": true}',
                        headers={"Cookie": cookie, "Content-Type": "application/json"})
    assert answer.status_code == 200
    return {"cookie": cookie, "token": token, "large": created.json_body["id"], "hidden": hidden}


def test_the_archive_holds_the_whole_record_of_thousands_of_measures(client, alice):
    many_measures("demo-alice", MEASURES)
    in_record = {t: len(list(RecordItem.query("demo-alice", RecordItem.item_key.startswith(f"{t}#"))))
                 for t in ("DocumentReference", "Observation", "Appointment")}
    history = client.get("/me/access-log?limit=100", headers={"Cookie": alice["cookie"]}).json_body["entries"]

    asked = client.post("/me/export", headers={"Cookie": alice["cookie"]})
    assert asked.status_code == 202 and asked.json_body["state"] in ("queued", "running")
    assert asked.headers["Location"] == "/me/export"
    status = wait_for_export(client, alice["cookie"])
    assert status["state"] == "ready", status
    assert status["resources"] == 1 + sum(in_record.values())

    parts = open_archive(archive_of(client, alice["cookie"]))  # valid R4, references resolve, hashes match
    bundle = parts["bundle"]
    assert {t: len(of_type(bundle, t)) for t in in_record} == in_record
    assert in_record["Observation"] > MEASURES
    (patient,) = of_type(bundle, "Patient")
    assert patient["name"][0]["family"] == "Martin" and patient["id"] != "demo-alice"
    documents = {d["id"]: d for d in of_type(bundle, "DocumentReference")}
    assert alice["hidden"] in documents  # hidden from apps, not from her
    large = documents[alice["large"]]["content"][0]["attachment"]
    assert large["size"] > 150_000 and large["contentType"] == "application/pdf"  # from S3, into the archive
    assert "demo-alice" not in str(bundle)

    (consent,) = parts["consents"]["consents"]
    assert consent["app_id"] == "demo-sandbox" and consent["status"] == "active"
    assert consent["receipt"]["app"]["name"] and consent["receipt"]["granted"]
    assert [(e["at"], e["interaction"]) for e in parts["history"]["entries"]] == \
        [(e["at"], e["interaction"]) for e in history]
    assert f"{status['resources']} éléments" in parts["readme_fr"]
    assert f"{status['resources']} items" in parts["readme_en"]


def test_a_second_request_while_one_runs_reuses_it(client, alice, monkeypatch):
    release, started = threading.Event(), []
    handler = application.export_runner.handler

    def slow(event):
        started.append(event)
        release.wait(10)
        handler(event)
    monkeypatch.setattr(application.export_runner, "handler", slow)
    first = client.post("/me/export", headers={"Cookie": alice["cookie"]}).json_body
    second = client.post("/me/export", headers={"Cookie": alice["cookie"]})
    assert second.status_code == 202 and second.json_body == first
    release.set()
    assert wait_for_export(client, alice["cookie"])["state"] == "ready"
    assert len(started) == 1

    again = client.post("/me/export", headers={"Cookie": alice["cookie"]})  # once ready: a new archive
    assert again.status_code == 202 and again.json_body["requested_at"] != first["requested_at"]
    assert wait_for_export(client, alice["cookie"])["state"] == "ready"
    keys = boto3.client("s3", region_name=settings.region).list_objects_v2(
        Bucket=settings.documents_bucket, Prefix="exports/").get("KeyCount")
    assert keys == 1  # the archive it replaced is gone


def test_only_the_citizen_reaches_their_export(client, alice):
    assert client.post("/me/export").status_code == 401
    assert client.get("/me/export").status_code == 401
    assert client.get("/me/export/archive").status_code == 401
    client.post("/me/export", headers={"Cookie": alice["cookie"]})
    assert wait_for_export(client, alice["cookie"])["state"] == "ready"

    karim = session_cookie(client, "demo-karim")  # another session, another citizen: nothing of Alice's
    assert client.get("/me/export", headers={"Cookie": karim}).json_body == {"state": "none"}
    refused = client.get("/me/export/archive", headers={"Cookie": karim})
    assert refused.status_code == 404 and refused.json_body["error"]["code"] == "not_found"
    # An app's token is not a citizen's session.
    assert client.get("/me/export", headers=auth(alice["token"])).status_code == 401


def test_an_archive_expires_and_then_gives_no_link(client, alice, monkeypatch):
    client.post("/me/export", headers={"Cookie": alice["cookie"]})
    assert wait_for_export(client, alice["cookie"])["state"] == "ready"
    later = datetime.now(timezone.utc) + timedelta(days=1, minutes=1)
    monkeypatch.setattr(application.export_service, "clock", lambda: later)
    assert client.get("/me/export", headers={"Cookie": alice["cookie"]}).json_body["state"] == "expired"
    assert client.get("/me/export/archive", headers={"Cookie": alice["cookie"]}).status_code == 404


def test_a_failed_build_says_so_and_may_be_asked_again(client, records):
    """Without its bucket the worker cannot store the archive: the job ends as failed, nothing is
    left half-made, and asking again starts afresh."""
    cookie = session_cookie(client, "demo-alice")
    client.post("/me/export", headers={"Cookie": cookie})
    failed = wait_for_export(client, cookie)
    assert failed["state"] == "failed" and "archive" not in failed
    assert client.get("/me/export/archive", headers={"Cookie": cookie}).status_code == 404
    again = client.post("/me/export", headers={"Cookie": cookie})
    assert again.status_code == 202 and again.json_body["requested_at"] != failed["requested_at"]
    wait_for_export(client, cookie)


def test_a_worker_that_died_silently_shows_as_failed(client, alice, monkeypatch):
    monkeypatch.setattr(application.export_runner, "handler", lambda event: None)  # the Lambda never ran
    client.post("/me/export", headers={"Cookie": alice["cookie"]})
    assert client.get("/me/export", headers={"Cookie": alice["cookie"]}).json_body["state"] == "queued"
    later = datetime.now(timezone.utc) + timedelta(minutes=17)
    monkeypatch.setattr(application.export_service, "clock", lambda: later)
    assert client.get("/me/export", headers={"Cookie": alice["cookie"]}).json_body["state"] == "failed"
    assert client.post("/me/export", headers={"Cookie": alice["cookie"]}).json_body["state"] == "queued"


def test_the_export_page_asks_follows_and_downloads(client, alice):
    assert client.get("/account/export").status_code == 303  # signed out: to the sign-in page
    page = client.get("/account/export", headers={"Cookie": alice["cookie"]})
    assert page.status_code == 200 and "Télécharger mes données" in html(page)
    assert "Préparer mon archive" in html(page)
    forged = client.post("/account/export", headers={**FORM, "Cookie": alice["cookie"]}, body="csrf_token=forged")
    assert forged.status_code == 403 and client.get("/me/export", headers={"Cookie": alice["cookie"]}
                                                     ).json_body == {"state": "none"}
    asked = client.post("/account/export", headers={**FORM, "Cookie": alice["cookie"]},
                        body=f"csrf_token={csrf_of(page)}")
    assert asked.status_code == 303 and asked.headers["Location"] == "/account/export"
    application.export_runner.wait()
    ready = html(client.get("/account/export?lang=en", headers={"Cookie": alice["cookie"]}))
    assert "Your archive is ready" in ready and 'href="/account/export/archive"' in ready
    download = client.get("/account/export/archive", headers={"Cookie": alice["cookie"]})
    assert download.status_code == 303 and "X-Amz-Signature=" in download.headers["Location"]


def test_the_export_reads_what_the_apps_read_and_nothing_leaks_to_them(client, alice):
    """Exporting is the citizen's act: it adds nothing to what apps can see of the record."""
    before = fhir_get(client, "/fhir/DocumentReference", smart_token(client, READ_ALL), _count="100").json_body
    client.post("/me/export", headers={"Cookie": alice["cookie"]})
    wait_for_export(client, alice["cookie"])
    after = fhir_get(client, "/fhir/DocumentReference", smart_token(client, READ_ALL), _count="100").json_body
    assert [e["resource"]["id"] for e in after["entry"]] == [e["resource"]["id"] for e in before["entry"]]
    assert alice["hidden"] not in {e["resource"]["id"] for e in after["entry"]}


def test_the_export_answers_as_the_openapi_describes_them(client, alice):
    import jsonschema
    document = client.get("/openapi.json").json_body
    validator = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/ExportJob",
                                                 "components": document["components"]})
    seen = [client.get("/me/export", headers={"Cookie": alice["cookie"]}).json_body,
            client.post("/me/export", headers={"Cookie": alice["cookie"]}).json_body,
            wait_for_export(client, alice["cookie"])]
    assert [view["state"] for view in seen] == ["none", "queued", "ready"]
    for view in seen:
        assert not [error.message for error in validator.iter_errors(view)]
    assert "/me/export/archive" in document["paths"] and "/me/export" in document["paths"]

"""The citizen's export archive as its reader (or another health service) meets it: waiting for it,
fetching it as the browser does, the files it holds, every resource valid FHIR R4 (fhirclient's
models, strict), every reference resolving inside the Bundle, and each document's content matching
its `size` and `hash`."""
import base64
import hashlib
import io
import json
import zipfile
from urllib.parse import parse_qs, urlsplit

import boto3

from chalicelib.config import settings
from tests.helpers.smart import assert_r4

FILES = {"dossier-medical.fhir.json", "consentements.json", "historique-des-acces.json", "LISEZMOI.txt",
         "README.txt"}


def references(value):
    """Every `reference` string in a resource."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def open_archive(data):
    """The archive's parts, each checked: {"bundle", "consents", "history", "readme_fr", "readme_en"}."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert set(archive.namelist()) == FILES
    bundle = json.loads(archive.read("dossier-medical.fhir.json"))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert_r4({**bundle, "entry": []})
    full_urls = set()
    for entry in bundle["entry"]:
        assert_r4(entry["resource"])
        resource = entry["resource"]
        assert entry["fullUrl"].endswith(f"/{resource['resourceType']}/{resource['id']}")
        assert entry["fullUrl"] not in full_urls, "a resource twice"
        full_urls.add(entry["fullUrl"])
    base = bundle["entry"][0]["fullUrl"].rsplit("/", 2)[0]
    for entry in bundle["entry"]:
        for reference in references(entry["resource"]):
            assert f"{base}/{reference}" in full_urls or reference in full_urls, f"{reference} resolves nowhere"
        for content in entry["resource"].get("content", []):
            attachment = content["attachment"]
            data = base64.b64decode(attachment["data"])
            assert "url" not in attachment
            assert len(data) == attachment["size"]
            assert base64.b64encode(hashlib.sha1(data).digest()).decode() == attachment["hash"]  # noqa: S324
    return {"bundle": bundle, "consents": json.loads(archive.read("consentements.json")),
            "history": json.loads(archive.read("historique-des-acces.json")),
            "readme_fr": archive.read("LISEZMOI.txt").decode("utf-8"),
            "readme_en": archive.read("README.txt").decode("utf-8")}


def of_type(bundle, resource_type):
    return [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == resource_type]


def wait_for_export(client, cookie):
    """The export's state once the worker (a thread, as `make run` runs it) is done."""
    import app as application
    application.export_runner.wait()
    return client.get("/me/export", headers={"Cookie": cookie}).json_body


def archive_of(client, cookie):
    """The archive, fetched the way the browser does: the 303, then the pre-signed URL's object."""
    answer = client.get("/me/export/archive", headers={"Cookie": cookie})
    assert answer.status_code == 303, answer.body
    url = urlsplit(answer.headers["Location"])
    params = parse_qs(url.query)
    assert params["X-Amz-Expires"] == ["120"]  # the link dies two minutes after it was made
    assert params["response-content-disposition"][0].startswith('attachment; filename="mon-espace-sante-')
    assert "demo-alice" not in answer.headers["Location"]  # the key names no one
    key = url.path.split(f"/{settings.documents_bucket}/", 1)[1]
    body = boto3.client("s3", region_name=settings.region).get_object(Bucket=settings.documents_bucket, Key=key)
    return body["Body"].read()

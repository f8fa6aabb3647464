"""The README's referencing walk-through over real HTTP, with `make token`'s demo tokens."""
import copy
import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.helpers.project import PROJECT

pytestmark = pytest.mark.e2e


def token(port, role, who=None):
    command = [sys.executable, "tools/demo_token.py", "--role", role, "--port", str(port)]
    if who:
        command += ["--who", who]
    return subprocess.check_output(command, cwd=PROJECT, text=True).strip()


def call(method, url, body=None, token=None, **headers):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        **({"Content-Type": "application/json"} if data is not None else {}),
        **({"Authorization": f"Bearer {token}"} if token else {}), **headers})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def test_publisher_to_reviewer_to_catalogue_and_suspension(server):
    base, port = server
    publisher, reviewer = token(port, "publisher", "newcomer"), token(port, "reviewer")
    demo = json.loads((PROJECT / "catalog/demo/listings/demo-sandbox.json").read_text(encoding="utf-8"))
    listing = demo["listing"]
    listing.update(name="Mon Carnet Tension",
                   publisher={"legal_name": "Nouvelle Santé SAS", "siret": "55208131766522"})
    flawed = copy.deepcopy(listing)
    flawed["third_parties"].append({"name": "AdNetwork", "purpose": "advertising"})
    flawed["evidence"]["SEC-01"]["valid_until"] = "2020-01-01"

    status, headers, created = call("POST", f"{base}/publisher/apps", flawed, publisher)
    assert status == 201, created
    app_id = created["app_id"]
    status, _, refused = call("POST", f"{base}/publisher/apps/{app_id}/versions/1/submit", {}, publisher)
    assert status == 422
    criteria = {detail["criterion"] for detail in refused["error"]["details"]}
    assert {"ETH-05", "SEC-01"} <= criteria

    status, headers, _ = call("PUT", f"{base}/publisher/apps/{app_id}/versions/1", listing, publisher,
                              **{"If-Match": headers["ETag"]})
    assert status == 200
    status, _, submitted = call("POST", f"{base}/publisher/apps/{app_id}/versions/1/submit", {}, publisher)
    assert status == 200 and submitted["state"] == "submitted"

    status, _, queue = call("GET", f"{base}/review/queue", token=reviewer)
    assert app_id in [item["app_id"] for item in queue["items"]]
    status, _, to_review = call("GET", f"{base}/review/apps/{app_id}/versions/1", token=reviewer)
    decision = {"opinion": "favourable", "approved_scopes": ["patient/Observation.rs", "patient/Observation.c"],
                "results": {criterion: {"result": "pass"} for criterion in to_review["criteria"]}}
    status, _, decided = call("POST", f"{base}/review/apps/{app_id}/versions/1/decision", decision, reviewer)
    assert status == 200 and decided["state"] == "published", decided

    status, _, page = call("GET", f"{base}/catalog/apps/{app_id}")
    assert status == 200 and page["ecoscore"]["letter"] in "ABCDE"
    assert app_id in [a["app_id"] for a in call("GET", f"{base}/catalog/apps?limit=100")[2]["items"]]

    status, _, _ = call("POST", f"{base}/review/apps/{app_id}/suspend", {"reason": "Contrôle en cours"}, reviewer)
    assert status == 200
    assert call("GET", f"{base}/catalog/apps/{app_id}")[0] == 404
    assert app_id not in [a["app_id"] for a in call("GET", f"{base}/catalog/apps?limit=100")[2]["items"]]
    status, _, mine = call("GET", f"{base}/publisher/apps/{app_id}", token=publisher)
    assert mine["status"] == "suspended" and mine["history"][-1]["reason"] == "Contrôle en cours"


def test_tokens_of_the_demo_issuer_are_checked(server):
    base, port = server
    assert call("GET", f"{base}/publisher/apps")[0] == 401
    assert call("GET", f"{base}/review/queue", token=token(port, "publisher"))[0] == 403
    assert call("GET", f"{base}/publisher/apps", token=token(port, "publisher") + "x")[0] == 401

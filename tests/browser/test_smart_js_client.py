"""The SMART team's browser library (npm's fhirclient, smart-on-fhir/client-js, its prebuilt bundle
used unmodified) in a real browser, as an app of another origin: discovery through
/.well-known/smart-configuration, authorization with PKCE (S256, required) through the identity
picker and the consent page, the code exchanged for a token by the browser itself (CORS), then a
read, a search and a write on the FHIR API, all cross-origin from http://127.0.0.1:9999, the
sandbox's registered redirect URI, where a real HTTP server serves the app."""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tests.helpers.browser import FHIR_CLIENT

pytestmark = pytest.mark.e2e
APP_HOST, APP_PORT = "127.0.0.1", 9999
APP = f"http://{APP_HOST}:{APP_PORT}"
SCOPE = ("launch/patient openid fhirUser patient/Patient.rs patient/Observation.rs patient/Observation.c "
         "patient/DocumentReference.rs")
# Whole steps of the flow, each far above what it takes locally (a second or two), but a real bound.
STEP_MS = 30_000

LAUNCH = """<!doctype html>
<html lang="en"><meta charset="utf-8"><link rel="icon" href="data:,"><title>SMART test app: launch</title>
<script src="/fhir-client.js"></script>
<pre id="result"></pre>
<script>
FHIR.oauth2.authorize(%(config)s).catch(function (error) {
  const out = document.getElementById("result");
  out.textContent = JSON.stringify({error: String(error), stack: error.stack});
  out.dataset.done = "error";
});
</script>
</html>"""

CALLBACK = """<!doctype html>
<html lang="en"><meta charset="utf-8"><link rel="icon" href="data:,"><title>SMART test app: callback</title>
<script src="/fhir-client.js"></script>
<pre id="result"></pre>
<script>
// An instant five minutes ago, in the browser's time zone, with its offset (+01:00 in Paris).
function localDateTime(date) {
  const pad = (n) => String(Math.abs(n)).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
    "T" + pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()) +
    (offset < 0 ? "-" : "+") + pad(Math.trunc(offset / 60)) + ":" + pad(offset % 60);
}
(async function () {
  const out = document.getElementById("result");
  try {
    const client = await FHIR.oauth2.ready();
    const patient = await client.patient.read();
    const observations = await client.patient.request("Observation?_count=5");
    const created = await client.create({
      resourceType: "Observation", status: "final",
      code: {coding: [{system: "http://loinc.org", code: "29463-7"}]},
      effectiveDateTime: localDateTime(new Date(Date.now() - 5 * 60 * 1000)),
      valueQuantity: {value: 74.3, unit: "kg", system: "http://unitsofmeasure.org", code: "kg"}});
    out.textContent = JSON.stringify({
      tokenPatient: client.patient.id, fhirUser: client.user.fhirUser,
      scope: client.state.tokenResponse.scope, patient, observations, created});
    out.dataset.done = "ok";
  } catch (error) {
    out.textContent = JSON.stringify({error: String(error), stack: error.stack});
    out.dataset.done = "error";
  }
})();
</script>
</html>"""


def app_handler(config):
    """The app: two pages and the library, nothing else; it keeps the paths it was asked for."""
    pages = {"/launch": LAUNCH % {"config": json.dumps(config)}, "/callback": CALLBACK}

    class Handler(BaseHTTPRequestHandler):
        requested = []

        def do_GET(self):  # noqa: N802 - http.server's naming
            path = urlsplit(self.path).path
            self.requested.append(path)
            if path == "/fhir-client.js":
                body, content_type = FHIR_CLIENT.read_bytes(), "text/javascript; charset=utf-8"
            elif path in pages:
                body, content_type = pages[path].encode(), "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="module")
def smart_app(browser, server):
    """The app, listening on the sandbox's registered redirect origin for the module. It must
    really listen: Chromium lets a page reach a loopback server (ours) only from a loopback origin,
    so a page the test would hand the browser itself could not call us."""
    handler = app_handler({"clientId": "demo-sandbox", "scope": SCOPE, "redirectUri": f"{APP}/callback",
                           "iss": f"{server}/fhir", "pkceMode": "required"})
    try:
        httpd = ThreadingHTTPServer((APP_HOST, APP_PORT), handler)
    except OSError as error:
        pytest.fail(f"the test app needs {APP} (demo-sandbox's redirect URI), which is taken: {error}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_the_smart_js_client_authorizes_reads_and_writes_from_another_origin(browser, server, smart_app):
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
    events, requested = [], []
    context.on("request", lambda request: requested.append(request.url))
    context.on("requestfailed", lambda request: events.append(
        f"request failed: {request.method} {request.url} ({request.failure})"))
    page = context.new_page()
    page.on("console", lambda message: events.append(f"console.{message.type}: {message.text}"))
    page.on("pageerror", lambda error: events.append(f"page error: {error}"))

    def log():
        return (f"\nat {page.url}; the app says {page.locator('#result').all_text_contents()}; "
                "the browser's console and failed requests:\n" + "\n".join(events or ["(none)"]))

    try:
        page.goto(f"{APP}/launch")
        try:  # discovery, then the library sends the browser to our authorization endpoint
            page.wait_for_url(f"{server}/oauth/authorize?*", timeout=STEP_MS)
        except PlaywrightError as error:
            pytest.fail(f"the library did not send the browser to /oauth/authorize: {error}{log()}")
        query = urlsplit(page.url).query
        assert "code_challenge_method=S256" in query and "code_challenge=" in query, page.url

        try:  # the citizen, on our pages: the identity picker, then the consent page
            page.get_by_label(re.compile("Léa Dupont")).check(timeout=STEP_MS)
            page.get_by_role("button", name=re.compile("Se connecter")).click(timeout=STEP_MS)
            page.get_by_role("button", name=re.compile("Autoriser")).click(timeout=STEP_MS)
            page.wait_for_url(f"{APP}/callback?*", timeout=STEP_MS)
            # the library exchanges the code, then reads, searches and writes
            page.locator("#result[data-done]").wait_for(state="attached", timeout=STEP_MS)
        except PlaywrightError as error:
            pytest.fail(f"the flow stopped: {error}{log()}")
        outcome = json.loads(page.locator("#result").text_content())
        assert "error" not in outcome, f"the app failed: {outcome}{log()}"

        patient, observations, created = outcome["patient"], outcome["observations"], outcome["created"]
        assert patient["resourceType"] == "Patient" and patient["id"] == outcome["tokenPatient"], outcome
        assert patient["name"][0]["family"] == "Dupont"
        assert outcome["fhirUser"] == f"Patient/{patient['id']}", "the ID token's, as the library reads it"
        assert {"patient/Observation.rs", "patient/Observation.c"} <= set(outcome["scope"].split())
        assert observations["resourceType"] == "Bundle" and observations["type"] == "searchset", observations
        assert observations.get("entry"), "the demo citizen has measures"
        assert all(e["resource"]["resourceType"] == "Observation" for e in observations["entry"])
        assert created["resourceType"] == "Observation" and created["id"], created
        assert created["meta"]["versionId"] == "1", created
        assert created["subject"]["reference"] == f"Patient/{patient['id']}", created
    finally:
        context.close()
    assert {"/launch", "/fhir-client.js", "/callback"} <= set(smart_app.requested)
    others = [url for url in requested if not url.startswith((server, APP))]
    assert not others, f"nothing is requested from another site: {others}"

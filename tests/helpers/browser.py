"""What the browser tests use: Debian's Chromium and how it runs, the JavaScript they load from
node_modules (axe-core, the SMART team's fhirclient), where screenshots go, and the weight of each
page visited (printed at the end of the run)."""
from pathlib import Path

from tests.helpers.project import PROJECT

CHROMIUM = Path("/usr/bin/chromium")
AXE = PROJECT / "node_modules" / "axe-core" / "axe.min.js"
FHIR_CLIENT = PROJECT / "node_modules" / "fhirclient" / "build" / "fhir-client.js"
SCREENSHOTS = PROJECT / "build" / "screenshots"
# Debian's Chromium, headless, and quiet: the machine may have no internet, and without these flags
# Chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Filled by the tests, read by tests/browser/conftest.py's report hook: name -> (HTML bytes, other
# bytes, other requests).
PAGE_WEIGHTS = {}

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


def scan(page, name, max_bytes=64 * 1024, tags=("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")):
    """Screenshot, weight and axe-core scan of the page on screen: no serious or critical violation."""
    import json
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    weight = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const others = performance.getEntriesByType('resource');
        return [nav.encodedBodySize, others.reduce((sum, r) => sum + r.encodedBodySize, 0), others.length];
    }""")
    PAGE_WEIGHTS[name] = tuple(weight)
    assert weight[0] < max_bytes and weight[2] == 0, f"{name}: {weight}"
    page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate("""async (tags) => {
        const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""", list(tags))
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, f"{name}: {json.dumps(serious, ensure_ascii=False, indent=1)}"
    return violations

"""Browser tests: one local server (as `make run` starts it) and one headless Chromium per module;
the weight of each page visited is printed at the end of the run."""
import os

import pytest

from tests.helpers.browser import AXE, CHROMIUM, CHROMIUM_ARGS, FHIR_CLIENT, PAGE_WEIGHTS
from tests.helpers.local_server import LocalServer


def _missing_tools():
    missing = [str(path) for path in (CHROMIUM, AXE, FHIR_CLIENT) if not path.exists()]
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (requirements-dev.txt)")
    return missing


@pytest.fixture(scope="module")
def server():
    with LocalServer() as running:
        yield running.base
    for path in ("/", "/apps/demo-sandbox", "/account/sign-in", "/account/consents",
                 "/account/history", "/account/export"):
        assert f"{running.base}{path}\n" in running.output, f"`make run` prints the page {path}"


@pytest.fixture(scope="module")
def browser():
    missing = _missing_tools()
    if missing:
        message = f"browser tests need {', '.join(missing)}: `make test` installs them"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """The weights travel with the test's report, so that the summary has them under pytest-xdist
    too (the measuring happens in a worker, the summary is written by the controller)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        report.user_properties.extend(("page_weight", (name, *weight)) for name, weight in PAGE_WEIGHTS.items())

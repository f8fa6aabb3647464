"""Test settings come first: configuration is read once, when chalicelib is first imported."""
import json
import os
import sys

import tempfile
from pathlib import Path

# The test identity provider (its key exists only for this test session) is trusted through the
# same TRUSTED_ISSUERS setting as ProConnect in production.
from tests.helpers.identity import OTHER_SIRET, SANDBOX_SIRET, TEST_AUDIENCE, TEST_ISSUER, TEST_JWK, mint

os.environ.update({
    "STAGE": "test",
    "TABLE_PREFIX": "mes-test-",
    "PUBLIC_BASE_URL": "https://testserver",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-3",
    "POWERTOOLS_LOG_DEDUPLICATION_DISABLED": "1",
    # The app object lives across tests, each with a new DynamoDB: no catalogue page may outlive its
    # test. The cache itself is tested with a clock of its own (tests/unit/test_catalog_cache.py).
    "CATALOG_CACHE_SECONDS": "0",
    # Tests make many calls for the demo apps in a few seconds; the quotas themselves are tested
    # with quotas of their own (tests/unit/test_quotas.py, tests/api/test_app_quotas.py).
    "APP_RATE_LIMIT": "100000",
    "APP_BURST_LIMIT": "100000",
    # The key that wraps the broker's signing keys for this session, made now like `make run`
    # makes its own (each test's ring is in that test's tables).
    "SIGNING_WRAP_KEY_FILE": str(Path(tempfile.mkdtemp(prefix="mes-test-")) / "signing-wrap-key.bin"),
    "CLAIM_KEY_FILE": str(Path(tempfile.mkdtemp(prefix="mes-test-")) / "claim-key.bin"),
    "TRUSTED_ISSUERS": json.dumps([{"issuer": TEST_ISSUER, "audience": TEST_AUDIENCE,
                                    "algorithms": ["ES256"], "jwks": {"keys": [TEST_JWK]}}]),
})
for name in ("DYNAMODB_ENDPOINT", "AWS_PROFILE", "CATALOG_DIR", "APPS_TABLE", "CATALOG_TABLE",
             "API_AUDIENCE", "DEMO_ISSUER_KEY_FILE", "SIGNING_WRAP_KEY_ID", "SIGNING_KEY_ROTATION_DAYS",
             "SIGNING_KEY_PUBLISH_AHEAD_SECONDS", "SIGNING_RING_REFRESH_SECONDS", "CLAIM_KEY_ID",
             "S3_ENDPOINT", "DOCUMENTS_BUCKET", "RECORDS_TABLE", "AUDIT_TABLE", "CITIZEN_OIDC", "APP_QUOTAS",
             "PORTAL_OIDC"):
    os.environ.pop(name, None)

import pytest  # noqa: E402

from chalicelib.oauth.claims import create_key_file as create_claim_key_file  # noqa: E402
from chalicelib.oauth.keywrap import create_wrap_key_file  # noqa: E402

create_wrap_key_file(Path(os.environ["SIGNING_WRAP_KEY_FILE"]))
create_claim_key_file(Path(os.environ["CLAIM_KEY_FILE"]))
from moto import mock_aws  # noqa: E402

from chalicelib.catalog.demo import seed_demo_catalog  # noqa: E402
from chalicelib.catalog.referential import load_referential  # noqa: E402
from chalicelib.catalog.service import CatalogService  # noqa: E402
from chalicelib.clock import utc_now  # noqa: E402
from chalicelib.config import settings  # noqa: E402
from chalicelib.oauth.keys import key_ring_for  # noqa: E402
from chalicelib.records.documents import DocumentStore  # noqa: E402
from chalicelib.storage import ensure_tables  # noqa: E402


@pytest.fixture
def aws():
    """A fresh, empty DynamoDB (moto's mock) with every table created. The app object lives across
    tests: its signing keys are forgotten too, so that the ring it holds is this test's."""
    with mock_aws():
        ensure_tables()
        _forget_the_apps_signing_keys()
        yield


def _forget_the_apps_signing_keys():
    app = sys.modules.get("app")
    if app is not None and app.token_keys is not None:
        app.token_keys.ring = key_ring_for(settings, utc_now)


@pytest.fixture
def documents_bucket(aws):
    """The documents bucket, for tests that store large document contents."""
    DocumentStore(settings.documents_bucket, settings.region, None).ensure_bucket()


@pytest.fixture(scope="session")
def referential():
    return load_referential()


@pytest.fixture
def catalog_service(aws, referential):
    return CatalogService(referential)


@pytest.fixture
def demo_apps(catalog_service):
    """The demo catalogue, published as `make run` publishes it."""
    return seed_demo_catalog(catalog_service)


@pytest.fixture
def publisher_token():
    return mint("publisher", SANDBOX_SIRET)


@pytest.fixture
def other_publisher_token():
    return mint("publisher", OTHER_SIRET)


@pytest.fixture
def reviewer_token():
    return mint("reviewer")


@pytest.fixture
def listing(referential):
    """A complete, valid listing of the sandbox publisher (from the demo data)."""
    demo = json.loads((referential.directory / "demo" / "listings" / "demo-sandbox.json").read_text())
    listing = demo["listing"]
    listing["name"] = "Carnet de tension"
    return listing


def pytest_xdist_make_scheduler(config, log):
    """`make test`'s `--dist loadfile`, with tests/infra as one unit: its modules share the package
    build (tests/infra/conftest.py), which one worker then makes while the other keeps testing."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class InfraTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "tests/infra" if nodeid.startswith("tests/infra/") else super()._split_scope(nodeid)

    return InfraTogether(config, log)


def pytest_terminal_summary(terminalreporter):
    """Page weights measured by the browser tests (tests/browser/conftest.py), from the reports
    (so that they show under pytest-xdist as in one process)."""
    weights = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", ()):
                if key == "page_weight":
                    weights[value[0]] = tuple(value[1:])
    if not weights:
        return
    terminalreporter.section("page weight (bytes per page: HTML, then everything else it loaded)")
    for name, (document, others, requests) in weights.items():
        terminalreporter.write_line(f"{name:<24} {document:>7} B HTML  + {others} B in {requests} other request(s)")

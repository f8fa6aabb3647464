"""Test settings come first: configuration is read once, when chalicelib is first imported."""
import os

os.environ.update({
    "STAGE": "test",
    "TABLE_PREFIX": "mes-test-",
    "PUBLIC_BASE_URL": "http://testserver",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-3",
    "POWERTOOLS_LOG_DEDUPLICATION_DISABLED": "1",
})
for name in ("DYNAMODB_ENDPOINT", "AWS_PROFILE", "CATALOG_DIR", "APPS_TABLE", "CATALOG_TABLE"):
    os.environ.pop(name, None)

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib.catalog.demo import seed_demo_catalog  # noqa: E402
from chalicelib.catalog.referential import load_referential  # noqa: E402
from chalicelib.catalog.service import CatalogService  # noqa: E402
from chalicelib.storage import ensure_tables  # noqa: E402


@pytest.fixture
def aws():
    """A fresh, empty DynamoDB (moto's mock) with every table created."""
    with mock_aws():
        ensure_tables()
        yield


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

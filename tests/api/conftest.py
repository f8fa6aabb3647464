import pytest
from chalice.test import Client

from app import app
from chalicelib.config import settings
from chalicelib.records.resources import Codec
from chalicelib.terminology import load_terminology
from chalicelib.records.demo import seed_demo_records


@pytest.fixture
def client(demo_apps):
    with Client(app, stage_name="local") as test_client:
        yield test_client.http


@pytest.fixture
def records(aws):
    """The demo citizens' records (documents, measures, appointments), as `make run` seeds them."""
    return seed_demo_records(Codec(load_terminology(settings.catalog_dir), settings.fhir_base_url),
                             settings.catalog_dir)

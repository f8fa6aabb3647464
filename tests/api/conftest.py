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
    """The records (documents, measures, appointments) of the demo citizens most tests use, Alice,
    Karim and Léa, as `make run` seeds them; `family_records` adds the rest of the Martin family."""
    return seed_demo_records(Codec(load_terminology(settings.catalog_dir), settings.fhir_base_url),
                             settings.catalog_dir, only=("demo-alice", "demo-karim", "demo-lea"))


@pytest.fixture
def family_records(records):
    """Also the records of Thomas, Noah (16) and Lina (9) Martin (catalog/demo/families.json)."""
    return records + seed_demo_records(Codec(load_terminology(settings.catalog_dir), settings.fhir_base_url),
                                       settings.catalog_dir, only=("demo-thomas", "demo-noah", "demo-lina"))


@pytest.fixture
def notify_pipeline(aws, monkeypatch):
    """The notification pipeline as `make run` runs it (moto's streams and queue, the same handlers
    as the Lambdas), fresh for this test; a failing endpoint is retried after 1 s, then once more
    after 1 s, then set to `error`."""
    import app as application
    from chalicelib.notify.local import local_pipeline_for
    monkeypatch.setattr(application.notify_queue, "url", None)
    monkeypatch.setattr(application.delivery, "retry_seconds", [1, 1])
    pipeline = local_pipeline_for(settings, application.notify_queue, application.fan_out.handle,
                                  application.delivery.handle).start()
    yield pipeline
    pipeline.stop()

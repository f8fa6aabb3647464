import pytest
from chalice.test import Client

from app import app


@pytest.fixture
def client(demo_apps):
    with Client(app, stage_name="local") as test_client:
        yield test_client.http

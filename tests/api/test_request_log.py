"""Each request writes one JSON log line saying what it cost, from botocore's own figures."""
import io
import json
import logging

import pytest

from chalicelib.catalog import service as catalog_service_module
from chalicelib.observability import logger


@pytest.fixture
def log():
    """The lines the app's logger writes, formatted exactly as on the console or CloudWatch."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def request_lines(stream):
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == "request"]


def test_a_catalogue_page_logs_one_line_with_its_dynamodb_cost(client, log):
    response = client.get("/catalog/apps?limit=3")
    (line,) = request_lines(log)
    assert line["method"] == "GET" and line["route"] == "/catalog/apps" and line["status"] == 200
    assert line["dynamodb"]["calls"] == 1 and line["dynamodb"]["operations"] == ["Query"]
    assert line["dynamodb"]["capacity_units"] > 0
    assert line["duration_ms"] > 0
    assert line["request_id"] == response.headers["X-Request-Id"]


def test_an_app_page_costs_one_get_item(client, log):
    client.get("/catalog/apps/demo-sandbox")
    (line,) = request_lines(log)
    assert line["dynamodb"]["operations"] == ["GetItem"] and line["route"] == "/catalog/apps/{app_id}"


def test_an_unexpected_failure_is_a_logged_500_in_the_error_shape(client, log, monkeypatch):
    def broken(self, app_id):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(catalog_service_module.CatalogService, "get_app", broken)
    response = client.get("/catalog/apps/demo-sandbox")
    assert response.status_code == 500
    assert response.json_body["error"]["code"] == "internal_error"
    assert "disk on fire" not in response.body.decode()
    assert "disk on fire" in log.getvalue()  # the traceback is logged, not sent
    assert request_lines(log)[0]["status"] == 500

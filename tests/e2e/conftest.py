"""The local server the e2e modules share: `make run` started once per module that asks for it."""
import pytest

from tests.helpers.local_server import LocalServer


@pytest.fixture(scope="module")
def server():
    with LocalServer() as running:
        yield running.base, running.port

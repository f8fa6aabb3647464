"""Fixtures of the unit tests: for the signing keys (test_token_keys.py, test_signing_key_ring.py),
a clock the tests move and a local key that wraps the ring's private keys; for the services'
rules, a fixed clock, the sandbox app published at it, and the consent service."""
import pytest

from chalicelib.consent.service import ConsentService
from chalicelib.oauth.keywrap import LocalKeyWrap, create_wrap_key_file
from tests.helpers.services import FixedClock, publish_sandbox
from tests.helpers.signing_keys import Clock


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def wrap(tmp_path):
    create_wrap_key_file(tmp_path / "wrap.bin")
    return LocalKeyWrap(tmp_path / "wrap.bin")


@pytest.fixture
def fixed_clock():
    return FixedClock()


@pytest.fixture
def sandbox_published(aws, referential, fixed_clock):
    """The sandbox app, published at the fixed clock; its catalogue service."""
    return publish_sandbox(referential, fixed_clock)


@pytest.fixture
def consents(sandbox_published, fixed_clock):
    return ConsentService(fixed_clock)

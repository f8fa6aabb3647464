"""Fixtures of the signing key tests (tests/unit/test_token_keys.py, test_signing_key_ring.py): a
clock the tests move, and a local key that wraps the ring's private keys."""
import pytest

from chalicelib.oauth.keywrap import LocalKeyWrap, create_wrap_key_file
from tests.helpers.signing_keys import Clock


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def wrap(tmp_path):
    create_wrap_key_file(tmp_path / "wrap.bin")
    return LocalKeyWrap(tmp_path / "wrap.bin")

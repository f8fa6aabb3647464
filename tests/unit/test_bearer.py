"""The one reader of `Authorization: Bearer` and the one writer of `WWW-Authenticate`: nothing from
the request can break out of a quoted challenge value (RFC 6750 section 3)."""
import pytest

from chalicelib.bearer import bearer_token, challenge
from chalicelib.errors import Unauthenticated


def test_a_challenge_keeps_request_text_inside_its_quotes():
    header = challenge("fhir", "invalid_token", 'kid "x"\r\nSet-Cookie: a=b', scope="patient/Observation.rs")
    value = header["WWW-Authenticate"]
    assert value.startswith('Bearer realm="fhir", error="invalid_token", error_description="')
    assert "\r" not in value and "\n" not in value and value.count('"') == 8
    assert value.endswith('scope="patient/Observation.rs"')


@pytest.mark.parametrize("authorization, error", [(None, None), ("", None), ("Basic abc", "invalid_request"),
                                                  ("Bearer ", "invalid_request"), ("Bearer", "invalid_request")])
def test_a_missing_or_malformed_authorization_is_401_with_a_challenge(authorization, error):
    with pytest.raises(Unauthenticated) as refused:
        bearer_token(authorization, "fhir")
    value = refused.value.headers["WWW-Authenticate"]
    assert value.startswith('Bearer realm="fhir"')
    assert (f'error="{error}"' in value) if error else ("error=" not in value)


def test_the_token_is_read_whatever_the_scheme_case():
    assert bearer_token("bearer  abc.def.ghi ", "fhir") == "abc.def.ghi"

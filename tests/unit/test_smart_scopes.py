"""SMART scopes as clients write them (v1 and v2), checked against what the commission approved."""
import pytest

from chalicelib.oauth.scopes import InvalidScope, ScopeRequest, parse_data_scope

APPROVED = ["patient/Observation.rs", "patient/Observation.c", "patient/DocumentReference.rs",
            "patient/Appointment.cud", "patient/Appointment.rs", "offline_access"]


@pytest.mark.parametrize("text, resource, permissions, query", [
    ("patient/Observation.read", "Observation", "rs", None),
    ("patient/Observation.write", "Observation", "cud", None),
    ("patient/Observation.*", "Observation", "cruds", None),
    ("patient/Observation.rs", "Observation", "rs", None),
    ("patient/Appointment.cruds", "Appointment", "cruds", None),
    ("patient/Observation.rs?category=vital-signs", "Observation", "rs", "category=vital-signs"),
    ("patient/*.read", "*", "rs", None),
])
def test_v1_and_v2_scopes_parse_to_one_meaning(text, resource, permissions, query):
    scope = parse_data_scope(text)
    assert (scope.resource, scope.permissions, scope.query) == (resource, permissions, query)


@pytest.mark.parametrize("text", ["patient/Observation.sr", "patient/Observation.", "patient/observation.rs",
                                  "patient/Observation.rx", "Observation.rs", "patient/Observation.read extra",
                                  "patient/Obs<script>.rs", "user/Observation.rs", "system/*.rs",
                                  "patient/Observation.rs?" + "x" * 300])
def test_malformed_or_unoffered_scopes_are_invalid_scope(text):
    with pytest.raises(InvalidScope):
        ScopeRequest.parse(text).granted_within(APPROVED)


def test_context_scopes_are_kept_apart():
    request = ScopeRequest.parse("launch/patient openid fhirUser offline_access patient/Observation.rs")
    assert request.context == {"launch/patient", "openid", "fhirUser", "offline_access"}
    assert request.granted_within(APPROVED) == ["patient/Observation.rs"]


@pytest.mark.parametrize("requested, granted", [
    ("patient/Observation.read", ["patient/Observation.rs"]),
    ("patient/Observation.r", ["patient/Observation.r"]),
    ("patient/Observation.crs", ["patient/Observation.crs"]),
    ("patient/Observation.rs?category=vital-signs", ["patient/Observation.rs?category=vital-signs"]),
    ("patient/Appointment.cruds", ["patient/Appointment.cruds"]),
    ("patient/*.rs", ["patient/Appointment.rs", "patient/DocumentReference.rs", "patient/Observation.rs"]),
])
def test_requests_within_approval_are_granted_in_v2_terms(requested, granted):
    assert ScopeRequest.parse(requested).granted_within(APPROVED) == granted


@pytest.mark.parametrize("requested", ["patient/DocumentReference.c", "patient/Patient.rs",
                                       "patient/Observation.cruds", "patient/DocumentReference.write",
                                       "patient/Immunization.read", "unknown_scope", ""])
def test_requests_beyond_approval_are_invalid_scope(requested):
    with pytest.raises(InvalidScope) as raised:
        ScopeRequest.parse(requested).granted_within(APPROVED)
    assert raised.value.oauth_error == "invalid_scope"

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


# Granular scopes as SMART App Launch 2 writes them: the category as a token with its system.
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DOCUMENT_CATEGORY = "https://monespacesante.fr/fhir/CodeSystem/document-category"
US_CORE_DOCUMENT_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"


def permission_of(scope, resource_type="Observation", interaction="search"):
    from chalicelib.fhir.access import AccessGrant
    return AccessGrant("demo-sandbox", "pairwise", "patient", 1, ScopeRequest.parse(scope).data,
                       scope, 0).permission(resource_type, interaction)


@pytest.mark.parametrize("with_system, code_alone, resource_type, categories", [
    (f"patient/Observation.rs?category={OBSERVATION_CATEGORY}|vital-signs",
     "patient/Observation.rs?category=vital-signs", "Observation", {"vital-signs"}),
    (f"patient/Observation.rs?category={OBSERVATION_CATEGORY}|laboratory",
     "patient/Observation.rs?category=laboratory", "Observation", {"laboratory"}),
    (f"patient/Observation.read?category={OBSERVATION_CATEGORY}|vital-signs,laboratory",
     "patient/Observation.read?category=vital-signs,laboratory", "Observation", {"vital-signs", "laboratory"}),
    (f"patient/DocumentReference.rs?category={DOCUMENT_CATEGORY}|report",
     "patient/DocumentReference.rs?category=report", "DocumentReference", {"report"}),
])
def test_a_category_with_its_system_means_what_the_code_alone_means(with_system, code_alone, resource_type,
                                                                   categories):
    assert parse_data_scope(with_system).categories == parse_data_scope(code_alone).categories == categories
    permission = permission_of(with_system, resource_type)
    assert permission == permission_of(code_alone, resource_type)
    assert all(permission.covers(category) for category in categories)
    assert not permission.covers("activity") and not permission.covers("imaging") and not permission.covers(None)


@pytest.mark.parametrize("requested, granted", [
    (f"patient/Observation.rs?category={OBSERVATION_CATEGORY}|vital-signs",
     [f"patient/Observation.rs?category={OBSERVATION_CATEGORY}|vital-signs"]),
    (f"patient/Observation.read?category={OBSERVATION_CATEGORY}|laboratory",
     [f"patient/Observation.rs?category={OBSERVATION_CATEGORY}|laboratory"]),
    (f"patient/DocumentReference.r?category={DOCUMENT_CATEGORY}|report,imaging",
     [f"patient/DocumentReference.r?category={DOCUMENT_CATEGORY}|report,imaging"]),
    ("patient/*.rs?category=vital-signs", ["patient/Observation.rs?category=vital-signs"]),
])
def test_the_granted_scope_echoes_the_category_as_the_client_wrote_it(requested, granted):
    assert ScopeRequest.parse(requested).granted_within(APPROVED) == granted


@pytest.mark.parametrize("text, reason", [
    (f"patient/DocumentReference.rs?category={US_CORE_DOCUMENT_CATEGORY}|clinical-note", "code system"),
    (f"patient/DocumentReference.rs?category={OBSERVATION_CATEGORY}|report", "code system"),
    (f"patient/Observation.rs?category={DOCUMENT_CATEGORY}|vital-signs", "code system"),
    (f"patient/Observation.rs?category={OBSERVATION_CATEGORY}|astrology", "not a category of Observation"),
    ("patient/Observation.rs?category=astrology", "not a category of Observation"),
    ("patient/DocumentReference.rs?category=vital-signs", "not a category of DocumentReference"),
    ("patient/Appointment.rs?category=vital-signs", "Appointment has no categories"),
    ("patient/*.rs?category=astrology", "no resource type has these categories"),
    ("patient/Observation.rs?category=|vital-signs", "a code, or <system>|<code>"),
    ("patient/Observation.rs?code=8867-4", "only restriction offered"),
    ("patient/Observation.rs?category=vital-signs&category=laboratory", "only restriction offered"),
    # Percent-encoded once more than the endpoints decode: not decoded a second time.
    ("patient/Observation.rs?category=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2Fobservation-category"
     "%7Cvital-signs", "percent-encoded"),
])
def test_a_foreign_system_or_an_unknown_category_is_invalid_scope(text, reason):
    with pytest.raises(InvalidScope) as raised:
        ScopeRequest.parse(f"launch/patient {text}").granted_within(APPROVED)
    assert raised.value.oauth_error == "invalid_scope" and reason in raised.value.message


# At refresh (RFC 6749 §6): a narrower scope is judged by what it allows, not by its words.
VITALS = f"category={OBSERVATION_CATEGORY}|vital-signs"


@pytest.mark.parametrize("granted, requested, issued", [
    ("launch/patient patient/Observation.rs offline_access", "patient/Observation.r offline_access",
     "patient/Observation.r offline_access"),
    ("patient/Observation.rs offline_access", "patient/Observation.s", "patient/Observation.s"),
    ("patient/Observation.rs offline_access", "patient/Observation.read offline_access",
     "patient/Observation.rs offline_access"),
    ("patient/Observation.rs patient/Observation.c", "patient/Observation.cr", "patient/Observation.cr"),
    ("patient/Observation.rs", f"patient/Observation.rs?{VITALS}", f"patient/Observation.rs?{VITALS}"),
    (f"patient/Observation.rs?{VITALS}", "patient/Observation.r?category=vital-signs",
     "patient/Observation.r?category=vital-signs"),
    ("patient/Observation.rs?category=vital-signs,laboratory",
     f"patient/Observation.r?category={OBSERVATION_CATEGORY}|laboratory",
     f"patient/Observation.r?category={OBSERVATION_CATEGORY}|laboratory"),
    ("patient/Appointment.rs patient/Observation.rs", "patient/*.r", "patient/Appointment.r patient/Observation.r"),
    ("patient/Observation.rs openid fhirUser offline_access", "openid offline_access", "offline_access openid"),
])
def test_a_refresh_may_ask_for_less_than_was_granted(granted, requested, issued):
    assert ScopeRequest.parse(requested).narrowed_from(granted) == issued


BEYOND = "beyond what was granted"


@pytest.mark.parametrize("granted, requested, reason", [
    ("patient/Observation.r offline_access", "patient/Observation.rs", BEYOND),
    ("patient/Observation.rs offline_access", "patient/Observation.cruds", BEYOND),
    ("patient/Observation.rs offline_access", "patient/DocumentReference.rs", BEYOND),
    ("patient/Observation.rs offline_access", "patient/Observation.rs openid", "'openid' was not granted"),
    ("patient/Observation.rs", "patient/Observation.rs offline_access", "'offline_access' was not granted"),
    (f"patient/Observation.rs?{VITALS}", "patient/Observation.rs", BEYOND),
    (f"patient/Observation.rs?{VITALS}", "patient/Observation.rs?category=laboratory", BEYOND),
    (f"patient/Observation.rs?{VITALS}", "patient/Observation.rs?category=vital-signs,laboratory", BEYOND),
    ("patient/Observation.rs", "patient/Observation.rs?category=astrology", "not a category of Observation"),
    ("patient/DocumentReference.rs", f"patient/DocumentReference.rs?category={US_CORE_DOCUMENT_CATEGORY}|clinical-note",
     "code system"),
    ("patient/Observation.rs", "patient/Appointment.r patient/Observation.r", BEYOND),
])
def test_a_refresh_may_not_ask_for_more_than_was_granted(granted, requested, reason):
    with pytest.raises(InvalidScope) as raised:
        ScopeRequest.parse(requested).narrowed_from(granted)
    assert raised.value.oauth_error == "invalid_scope" and reason in raised.value.message

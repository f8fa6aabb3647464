"""The pieces of the FHIR hot path on their own: the sealed patient claim, search planning, and
the checks on incoming resources."""
from datetime import datetime, timezone

import boto3
import pytest

from chalicelib.config import settings
from chalicelib.errors import InvalidRequest
from chalicelib.records.resources import Codec, InvalidResource
from chalicelib.terminology import load_terminology
from chalicelib.fhir.search import decode_cursor, plan_search
from chalicelib.oauth.claims import ClaimSeal, SealError, kms_data_key

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
FHIR = "https://testserver/fhir"


def test_a_sealed_claim_opens_only_for_its_app_and_only_untouched():
    seal = ClaimSeal(lambda: b"k" * 32)
    sealed = seal.seal("demo-alice", "demo-sandbox")
    assert "demo-alice" not in sealed and seal.unseal(sealed, "demo-sandbox") == "demo-alice"
    assert seal.seal("demo-alice", "demo-sandbox") != sealed, "a fresh nonce each time: tokens do not link"
    with pytest.raises(SealError):
        seal.unseal(sealed, "another-app")
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for bad in (tampered, "", None, 42, "x" * 500):
        with pytest.raises(SealError):
            seal.unseal(bad, "demo-sandbox")
    with pytest.raises(SealError):
        ClaimSeal(lambda: b"o" * 32).unseal(sealed, "demo-sandbox")


def test_the_kms_data_key_is_made_once_then_decrypted(aws):
    kms = boto3.client("kms", region_name=settings.region)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    first = kms_data_key(key_id, kms)
    assert len(first) == 32 and kms_data_key(key_id, kms) == first
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms_data_key(other, kms) != first, "a replaced KMS key makes its own data key"


def plan(resource_type="Observation", **params):
    return plan_search(resource_type, {k: [v] if isinstance(v, str) else v for k, v in params.items()},
                       "pairwise", False, FHIR)


def test_search_plans_are_key_ranges_on_one_partition():
    by_code = plan(code="http://loinc.org|29463-7", date=["ge2026-01", "lt2026-03-01"])
    assert by_code.index == "by-code"
    assert (by_code.low, by_code.high) == ("Observation#29463-7#2026-01-01T00:00:00Z",
                                           "Observation#29463-7#2026-03-01T00:00:00Z")
    day = plan("Appointment", date="2026-12-10")
    assert (day.index, day.low, day.high) == ("by-date", "Appointment#2026-12-10T00:00:00Z",
                                              "Appointment#2026-12-11T00:00:00Z")
    assert plan(patient="Patient/pairwise").patient_matches
    assert not plan(patient="someone-else").patient_matches
    assert plan(_count="1000").count == 100


@pytest.mark.parametrize("params", [{"date": "soon"}, {"_count": "0"}, {"_count": "ten"}, {"colour": "blue"},
                                    {"code": "a,b"}, {"_format": "xml"}, {"status": ["a", "b"]}])
def test_bad_search_parameters_are_400(params):
    with pytest.raises(InvalidRequest):
        plan("DocumentReference" if "status" in params else "Observation", **params)


def test_a_cursor_cannot_leave_its_search():
    import base64
    import json
    weights = plan(code="29463-7", _cursor=base64.urlsafe_b64encode(json.dumps(
        {"k": "Observation#x", "i": "Observation#8867-4#2026-01-01T00:00:00Z#x"}).encode()).decode())
    with pytest.raises(InvalidRequest):
        decode_cursor(weights, "demo-alice")
    inside = plan(code="29463-7", _cursor=base64.urlsafe_b64encode(json.dumps(
        {"k": "Observation#x", "i": "Observation#29463-7#2026-01-01T00:00:00Z#x"}).encode()).decode())
    assert decode_cursor(inside, "demo-alice")["patient_id"] == {"S": "demo-alice"}


@pytest.fixture(scope="module")
def codec():
    return Codec(load_terminology(settings.catalog_dir), FHIR)


def test_a_measure_is_checked_against_its_loinc_code_and_ucum_unit(codec):
    good = {"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-11-20T08:00:00+01:00",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
            "valueQuantity": {"value": 37.2, "system": "http://unitsofmeasure.org", "code": "Cel"}}
    indexed = codec.check("Observation", good, "pairwise", NOW)
    assert (indexed.code, indexed.category, indexed.date) == ("8310-5", "vital-signs", "2026-11-20T07:00:00Z")
    assert indexed.resource["valueQuantity"]["unit"] == "Cel"
    bad = dict(good, valueQuantity={"value": 98.6, "system": "http://unitsofmeasure.org", "code": "[degF]"},
               effectiveDateTime="2027-01-01T00:00:00Z", colour="blue")
    with pytest.raises(InvalidResource) as error:
        codec.check("Observation", bad, "pairwise", NOW)
    pointers = {d["pointer"] for d in error.value.details}
    assert {"Observation.valueQuantity.code", "Observation.valueQuantity.value", "Observation.effectiveDateTime",
            "Observation.colour"} <= pointers


def test_a_document_keeps_its_content_and_checks_its_hash(codec):
    document = {"resourceType": "DocumentReference", "status": "current",
                "type": {"coding": [{"system": "http://loinc.org", "code": "11369-6"}]},
                "subject": {"reference": "Patient/pairwise"},
                "content": [{"attachment": {"contentType": "text/plain", "data": "VmFjY2lu", "hash": "wrong"}}]}
    with pytest.raises(InvalidResource) as error:
        codec.check("DocumentReference", document, "pairwise", NOW)
    assert [d["pointer"] for d in error.value.details] == ["DocumentReference.content[0].attachment.hash"]
    del document["content"][0]["attachment"]["hash"]
    indexed = codec.check("DocumentReference", document, "pairwise", NOW)
    assert indexed.category == "prevention" and indexed.resource["content"][0]["attachment"]["size"] == 6
    assert "subject" not in indexed.resource, "the patient is the partition, not a stored reference"
    shown = codec.show("DocumentReference", "d1", indexed.resource, "pairwise", 1, NOW, None)
    assert shown["subject"] == {"reference": "Patient/pairwise"}


def test_many_attachments_never_make_an_item_too_large(codec):
    import base64
    five = [{"attachment": {"contentType": "application/pdf", "data": base64.b64encode(bytes([n]) * 60_000).decode()}}
            for n in range(5)]
    document = {"resourceType": "DocumentReference", "status": "current", "content": five,
                "type": {"coding": [{"system": "http://loinc.org", "code": "11502-2"}]}}
    indexed = codec.check("DocumentReference", document, "pairwise", NOW)
    inline = [c for c in indexed.resource["content"] if "data" in c["attachment"]]
    assert len(inline) == 2 and len(indexed.content) == 3, "two stay inline (the budget), three go to S3"
    assert all(c["attachment"]["size"] == 60_000 for c in indexed.resource["content"])


def test_a_search_plan_carries_every_filter_the_service_runs():
    """The plan holds the token's granted categories and the citizen's hidden documents, so that
    the service only runs it (records/queries.py)."""
    granted = frozenset({"vital-signs"})
    asked_within = plan_search("Observation", {"category": ["vital-signs"]}, "pairwise", False, FHIR, granted)
    assert asked_within.categories == ["vital-signs"] and asked_within.searchable
    asked_outside = plan_search("Observation", {"category": ["laboratory"]}, "pairwise", False, FHIR, granted)
    assert asked_outside.categories == [] and not asked_outside.searchable  # nothing read at all
    assert plan_search("Observation", {}, "pairwise", False, FHIR, granted).categories == ["vital-signs"]
    assert plan("DocumentReference").visible_only and not plan("Observation").visible_only
    assert plan(code="29463-7").index_key == "code_key" and plan().index_key == "date_key"

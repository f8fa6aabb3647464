"""The consent service on its own, with a clock the tests move: granting, granting again,
withdrawing, the bounded list of revoked token families, expiry, and the receipt a citizen keeps."""
from datetime import timedelta

import pytest

from chalicelib.consent.models import ConsentEvent

from chalicelib.consent.models import Consent
from chalicelib.consent.service import MAX_REVOKED_FAMILIES, ConsentService
from chalicelib.errors import NotFound
from tests.helpers.services import ALICE, KARIM, SANDBOX, grant_consent, sandbox_head


def stored(patient_id=ALICE):
    return Consent.get(patient_id, SANDBOX)


def test_a_grant_is_active_for_the_chosen_duration_with_what_was_chosen(consents, fixed_clock):
    consent = grant_consent(consents, ALICE, "patient/Observation.rs patient/Appointment.rs", days=90)
    assert consents.active(ALICE, SANDBOX) is not None
    assert (consent.status, consent.generation) == ("active", 1)
    assert consent.scopes == {"data": ["patient/Observation.rs", "patient/Appointment.rs"],
                              "context": ["launch/patient"]}
    assert consent.expires_at == fixed_clock() + timedelta(days=90)


def test_a_grant_never_outlives_the_apps_referencing_period(consents):
    consent = grant_consent(consents, ALICE, days=365)
    assert consent.expires_at == sandbox_head().referenced_until < consent.granted_at + timedelta(days=365)


def test_each_citizen_gets_a_different_pairwise_id_for_the_same_app(consents):
    assert grant_consent(consents, ALICE).pairwise_id != grant_consent(consents, KARIM).pairwise_id


def test_granting_again_moves_the_generation_on_and_keeps_the_patient_id_the_app_sees(consents, fixed_clock):
    first = grant_consent(consents, ALICE, "patient/Observation.rs")
    fixed_clock.advance(days=1)
    again = grant_consent(consents, ALICE, "patient/Observation.rs patient/DocumentReference.rs")
    assert again.generation == first.generation + 1
    assert again.pairwise_id == first.pairwise_id
    assert consents.by_pairwise_id(first.pairwise_id).scopes["data"] == [
        "patient/Observation.rs", "patient/DocumentReference.rs"]


def test_an_active_consent_covers_what_it_includes_and_nothing_more(consents):
    consent = grant_consent(consents, ALICE, "patient/Observation.rs patient/Appointment.rs")
    assert ConsentService.covers(consent, ["patient/Observation.rs"], ["launch/patient"])
    assert not ConsentService.covers(consent, ["patient/DocumentReference.rs"], ["launch/patient"])
    assert not ConsentService.covers(consent, ["patient/Observation.rs"], ["launch/patient", "offline_access"])
    assert not ConsentService.covers(None, [], [])


def test_a_withdrawn_consent_is_past_and_its_generation_moved_on(consents, fixed_clock):
    consent = grant_consent(consents, ALICE)
    fixed_clock.advance(hours=2)
    view = consents.revoke(ALICE, SANDBOX)
    assert view["status"] == "revoked" and view["revoked_at"] == fixed_clock().isoformat()
    assert consents.active(ALICE, SANDBOX) is None
    assert stored().generation == consent.generation + 1
    listed = consents.list(ALICE)
    assert listed["active"] == [] and [c["app_id"] for c in listed["past"]] == [SANDBOX]


def test_a_consent_cannot_be_withdrawn_twice_nor_one_never_given(consents):
    grant_consent(consents, ALICE)
    consents.revoke(ALICE, SANDBOX)
    with pytest.raises(NotFound):
        consents.revoke(ALICE, SANDBOX)
    with pytest.raises(NotFound):
        consents.revoke(KARIM, SANDBOX)


def test_a_consent_past_its_end_is_expired_and_no_longer_active(consents, fixed_clock):
    consent = grant_consent(consents, ALICE, days=30)
    fixed_clock.advance(days=29, hours=23)
    assert consents.active(ALICE, SANDBOX) is not None
    fixed_clock.now = consent.expires_at
    assert consents.active(ALICE, SANDBOX) is None
    assert [c["status"] for c in consents.list(ALICE)["past"]] == ["expired"]
    assert consents.receipt(ALICE, SANDBOX)["status"] == "expired"
    with pytest.raises(NotFound):
        consents.revoke(ALICE, SANDBOX)  # nothing left to withdraw


def test_a_revoked_token_family_is_listed_and_the_consent_stands(consents, fixed_clock):
    consent = grant_consent(consents, ALICE)
    consents.revoke_family(ALICE, SANDBOX, "family-0001", fixed_clock() + timedelta(minutes=10))
    after = stored()
    assert after.family_revoked("family-0001") and not after.family_revoked("family-0002")
    assert after.generation == consent.generation and consents.active(ALICE, SANDBOX) is not None


def test_past_the_limit_of_revoked_families_every_token_of_the_consent_stops(consents, fixed_clock):
    consent = grant_consent(consents, ALICE)
    alive_until = fixed_clock() + timedelta(minutes=10)
    for number in range(MAX_REVOKED_FAMILIES):
        consents.revoke_family(ALICE, SANDBOX, f"family-{number:04d}", alive_until)
    assert stored().generation == consent.generation
    assert len(stored().revoked_families) == MAX_REVOKED_FAMILIES
    consents.revoke_family(ALICE, SANDBOX, "family-one-too-many", alive_until)
    after = stored()
    assert after.generation == consent.generation + 1  # end_tokens: the app signs the citizen in again
    assert len(after.revoked_families) == MAX_REVOKED_FAMILIES  # the item did not grow
    assert after.status == "active"


def test_families_whose_tokens_have_all_expired_leave_the_list(consents, fixed_clock):
    consent = grant_consent(consents, ALICE)
    for number in range(MAX_REVOKED_FAMILIES):
        consents.revoke_family(ALICE, SANDBOX, f"family-{number:04d}", fixed_clock() + timedelta(minutes=10))
    fixed_clock.advance(minutes=11)
    consents.revoke_family(ALICE, SANDBOX, "family-later", fixed_clock() + timedelta(minutes=10))
    after = stored()
    assert after.generation == consent.generation
    assert after.family_revoked("family-later") and not after.family_revoked("family-0000")
    assert len(after.revoked_families) == 1


def test_ending_the_tokens_of_a_generation_already_replaced_changes_nothing(consents):
    first = grant_consent(consents, ALICE)
    grant_consent(consents, ALICE)
    consents.end_tokens(ALICE, SANDBOX, int(first.generation))
    assert stored().generation == first.generation + 1


def test_the_receipt_says_what_was_granted_to_whom_for_what_and_until_when(consents, fixed_clock):
    consent = grant_consent(consents, ALICE, "patient/Observation.rs")
    receipt = consents.receipt(ALICE, SANDBOX)
    head = sandbox_head()
    assert receipt["app"] == {"app_id": SANDBOX, "name": head.public["name"], "publisher": head.public["publisher"]}
    [granted] = receipt["granted"]
    assert granted["scope"] == "patient/Observation.rs" and granted["label"] and granted["purpose"]
    assert (receipt["from"], receipt["until"]) == (fixed_clock().isoformat(), consent.expires_at.isoformat())
    assert (receipt["status"], receipt["revoked_at"]) == ("active", None)


def test_the_receipt_of_a_withdrawn_consent_keeps_the_grant_and_says_when_it_ended(consents, fixed_clock):
    grant_consent(consents, ALICE)
    fixed_clock.advance(days=3)
    consents.revoke(ALICE, SANDBOX)
    receipt = consents.receipt(ALICE, SANDBOX)
    assert receipt["status"] == "revoked" and receipt["revoked_at"] == fixed_clock().isoformat()
    assert [g["scope"] for g in receipt["granted"]] == ["patient/Observation.rs"]


def test_a_withdrawal_in_the_same_instant_as_the_grant_keeps_the_receipt_and_both_events(consents):
    """Events of the same instant have keys of their own: the grant's receipt survives."""
    grant_consent(consents, ALICE)
    consents.revoke(ALICE, SANDBOX)  # the fixed clock has not moved
    assert consents.receipt(ALICE, SANDBOX)["status"] == "revoked"
    actions = [event.action for event in ConsentEvent.query(ALICE, ConsentEvent.item_key.startswith(f"{SANDBOX}#"))]
    assert sorted(actions) == ["granted", "revoked"]


def test_the_receipt_is_the_last_grants(consents, fixed_clock):
    grant_consent(consents, ALICE, "patient/Observation.rs")
    fixed_clock.advance(days=1)
    grant_consent(consents, ALICE, "patient/Appointment.rs")
    assert [g["scope"] for g in consents.receipt(ALICE, SANDBOX)["granted"]] == ["patient/Appointment.rs"]


def test_there_is_no_receipt_for_a_consent_never_given(consents):
    with pytest.raises(NotFound):
        consents.receipt(KARIM, SANDBOX)


def test_the_expiry_sweep_marks_each_consent_past_its_end_once_and_nothing_else(consents, fixed_clock):
    consent = grant_consent(consents, ALICE, days=30)
    grant_consent(consents, KARIM, days=90)
    fixed_clock.advance(days=29)
    assert consents.end_expired() == 0, "not yet"
    fixed_clock.advance(days=1, minutes=10)
    assert consents.end_expired() == 1
    assert (stored().status, stored().active_app_id, stored().expiry_day) == ("expired", None, None)
    assert stored(KARIM).status == "active"
    assert consents.end_expired() == 0, "marked once: a later or overlapping sweep finds nothing"
    events = [e for e in ConsentEvent.query(ALICE) if isinstance(e, ConsentEvent)]
    assert [(e.action, e.at) for e in events if e.action == "expired"] == [("expired", consent.expires_at)]


def test_a_consent_granted_again_or_withdrawn_before_the_sweep_is_not_marked(consents, fixed_clock):
    grant_consent(consents, ALICE, days=30)
    grant_consent(consents, KARIM, days=30)
    fixed_clock.advance(days=1)
    consents.revoke(KARIM, SANDBOX)
    fixed_clock.advance(days=29, minutes=1)
    grant_consent(consents, ALICE, days=30)
    assert consents.end_expired() == 0
    assert stored().status == "active" and stored(KARIM).status == "revoked"


def test_the_backfill_puts_consents_granted_before_the_expiry_index_in_it_once(consents, fixed_clock):
    """Consents granted before the `expiring` index existed are invisible to the sweep until the
    one-off backfill (`python -m chalicelib.consent.service index-for-expiry`) puts them in it."""
    grant_consent(consents, ALICE, days=30)
    grant_consent(consents, KARIM, days=30)
    consents.revoke(KARIM, SANDBOX)  # withdrawn: nothing to index
    stored().update(actions=[Consent.expiry_day.remove()])  # as granted before the index existed
    fixed_clock.advance(days=30, minutes=10)
    assert consents.end_expired() == 0, "the sweep cannot see it"
    assert consents.index_for_expiry() == 1
    assert consents.index_for_expiry() == 0, "once"
    assert consents.end_expired() == 1 and stored().status == "expired"
    assert stored(KARIM).status == "revoked"

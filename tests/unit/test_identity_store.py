"""The identity domain's store on its own (moto's DynamoDB): the races its conditions settle, which
the sign-in tests through HTTP cannot time. A pending sign-in is taken once, and a link is created
once, the second first sign-in of the same person getting the first one's internal id."""
from chalicelib.identity.citizens import CitizenSessions, PendingSignIn, session_key
from chalicelib.identity.signin import CitizenDirectory
from chalicelib.identity.store import LinkStore, SessionStore
from tests.helpers.services import ALICE

ISSUER = "https://fc.example"


def test_of_two_callbacks_that_read_the_same_pending_sign_in_one_only_takes_it(aws, fixed_clock):
    store = SessionStore()
    session_id = CitizenSessions(fixed_clock, store).begin_sign_in(None, PendingSignIn("st", "n", "v", "/"))
    first, second = store.find(session_key(session_id)), store.find(session_key(session_id))
    assert store.take_sign_in(first, "st") is True
    assert store.take_sign_in(second, "st") is False
    assert store.find(session_key(session_id)).signin_state is None


def test_a_pending_sign_in_is_not_taken_with_another_state(aws, fixed_clock):
    sessions = CitizenSessions(fixed_clock, SessionStore())
    session_id = sessions.begin_sign_in(None, PendingSignIn("st", "n", "v", "/next"))
    assert sessions.take_sign_in(session_id, "other") is None
    assert sessions.take_sign_in(session_id, "st") == PendingSignIn("st", "n", "v", "/next")
    assert sessions.take_sign_in(session_id, "st") is None


def test_a_link_is_created_once_and_a_second_creation_gets_the_first_ones_id(aws, fixed_clock):
    store = LinkStore()
    assert store.create(ISSUER, "sub-1", "cit-first", fixed_clock()).patient_id == "cit-first"
    assert store.create(ISSUER, "sub-1", "cit-second", fixed_clock()).patient_id == "cit-first"
    assert store.find(ISSUER, "sub-1").patient_id == "cit-first"
    assert store.find(ISSUER, "sub-2") is None


class LateLinkStore(LinkStore):
    """A store whose first read comes before a concurrent first sign-in writes the link."""

    def find(self, issuer, subject):
        return None


def test_two_first_sign_ins_of_the_same_person_get_one_internal_id(aws, fixed_clock):
    winner = CitizenDirectory(fixed_clock, LinkStore()).citizen_for(ISSUER, "sub-1")
    assert CitizenDirectory(fixed_clock, LateLinkStore()).citizen_for(ISSUER, "sub-1") == winner


def test_a_session_this_request_started_is_signed_in_without_a_new_one(aws, fixed_clock):
    sessions = CitizenSessions(fixed_clock, SessionStore())
    session_id, session = sessions.find_or_start(None)
    sessions.sign_in_new_session(session, ALICE, signed_in_by="demo")
    assert session.patient_id == ALICE
    assert sessions.citizen(session_id) == ALICE


def test_a_throttled_write_is_raised_never_taken_for_a_lost_race_or_a_replay(aws, fixed_clock):
    """DynamoDB's own failures reach the edge (503, the citizen tries again): a throttled link
    creation is no lost race, a throttled callback no replay, a throttled sign-out no success."""
    import pytest
    from pynamodb.exceptions import PynamoDBException

    from tests.dynamodb_double import dynamodb_double
    sessions = CitizenSessions(fixed_clock, SessionStore())
    session_id = sessions.begin_sign_in(None, PendingSignIn("st", "n", "v", "/"))
    with dynamodb_double() as double:  # throttled through botocore's retries: times=None
        for operation, call in (("PutItem", lambda: LinkStore().create(ISSUER, "sub-1", ALICE, fixed_clock())),
                                ("UpdateItem", lambda: sessions.take_sign_in(session_id, "st")),
                                ("DeleteItem", lambda: sessions.end(session_id))):
            double.fail(operation, "ProvisionedThroughputExceededException", times=None)
            with pytest.raises(PynamoDBException) as raised:
                call()
            assert raised.value.cause_response_code == "ProvisionedThroughputExceededException"
            double.clear_faults()
    assert LinkStore().find(ISSUER, "sub-1") is None
    assert sessions.take_sign_in(session_id, "st") == PendingSignIn("st", "n", "v", "/")  # still there

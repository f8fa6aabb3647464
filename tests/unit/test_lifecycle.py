"""Every transition of the listing and app state machines, allowed and forbidden."""
import itertools

import pytest

from chalicelib.errors import Conflict
from chalicelib.referencing import lifecycle

VERSION_STATES = ["draft", "submitted", "changes_requested", "published", "rejected", "superseded"]
EXPECTED_VERSION = {
    ("draft", "submit"): "submitted",
    ("changes_requested", "submit"): "submitted",
    ("submitted", "withdraw_submission"): "draft",
    ("submitted", "request_changes"): "changes_requested",
    ("submitted", "publish"): "published",
    ("submitted", "reject"): "rejected",
    ("published", "supersede"): "superseded",
}
APP_STATUSES = ["unlisted", "published", "suspended", "withdrawn"]
EXPECTED_APP = {
    ("published", "suspend"): "suspended",
    ("suspended", "reinstate"): "published",
    ("published", "withdraw"): "withdrawn",
    ("suspended", "withdraw"): "withdrawn",
}


@pytest.mark.parametrize("state, action", itertools.product(VERSION_STATES, lifecycle.VERSION_TRANSITIONS))
def test_version_transitions(state, action):
    expected = EXPECTED_VERSION.get((state, action))
    if expected:
        assert lifecycle.next_version_state(state, action) == expected
    else:
        with pytest.raises(Conflict):
            lifecycle.next_version_state(state, action)


@pytest.mark.parametrize("status, action", itertools.product(APP_STATUSES, lifecycle.APP_TRANSITIONS))
def test_app_transitions(status, action):
    expected = EXPECTED_APP.get((status, action))
    if expected:
        assert lifecycle.next_app_status(status, action) == expected
    else:
        with pytest.raises(Conflict):
            lifecycle.next_app_status(status, action)


def test_each_opinion_leads_somewhere_known():
    assert lifecycle.OPINIONS == {
        "favourable": "publish", "favourable_with_reservations": "publish",
        "favourable_with_suspensive_reservations": "request_changes", "unfavourable": "reject"}

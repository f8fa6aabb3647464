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


CASES = ([(lifecycle.next_version_state, state, action, EXPECTED_VERSION.get((state, action)))
          for state, action in itertools.product(VERSION_STATES, lifecycle.VERSION_TRANSITIONS)]
         + [(lifecycle.next_app_status, status, action, EXPECTED_APP.get((status, action)))
            for status, action in itertools.product(APP_STATUSES, lifecycle.APP_TRANSITIONS)])


@pytest.mark.parametrize("transition, current, action, expected", CASES)
def test_every_transition_is_allowed_or_refused(transition, current, action, expected):
    if expected:
        assert transition(current, action) == expected
    else:
        with pytest.raises(Conflict):
            transition(current, action)


def test_each_opinion_leads_somewhere_known():
    assert lifecycle.OPINIONS == {
        "favourable": "publish", "favourable_with_reservations": "publish",
        "favourable_with_suspensive_reservations": "request_changes", "unfavourable": "reject"}

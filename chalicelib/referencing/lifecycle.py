"""The referencing state machines: of a listing version, and of an app in the catalogue."""
from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

from chalicelib.errors import Conflict

# Listing version states.
DRAFT, SUBMITTED, CHANGES_REQUESTED = "draft", "submitted", "changes_requested"
PUBLISHED, REJECTED, SUPERSEDED = "published", "rejected", "superseded"
EDITABLE = frozenset({DRAFT, CHANGES_REQUESTED})
OPEN = EDITABLE | {SUBMITTED}  # at most one open version per app

VERSION_TRANSITIONS: Dict[str, Tuple[FrozenSet[str], str]] = {
    "submit": (EDITABLE, SUBMITTED),
    "withdraw_submission": (frozenset({SUBMITTED}), DRAFT),
    "request_changes": (frozenset({SUBMITTED}), CHANGES_REQUESTED),
    "publish": (frozenset({SUBMITTED}), PUBLISHED),
    "reject": (frozenset({SUBMITTED}), REJECTED),
    "supersede": (frozenset({PUBLISHED}), SUPERSEDED),
}

# App (catalogue) statuses. "lapsed" is not stored: a published app whose period ended is lapsed.
UNLISTED, LISTED, SUSPENDED, WITHDRAWN = "unlisted", "published", "suspended", "withdrawn"
APP_TRANSITIONS: Dict[str, Tuple[FrozenSet[str], str]] = {
    "suspend": (frozenset({LISTED}), SUSPENDED),
    "reinstate": (frozenset({SUSPENDED}), LISTED),
    "withdraw": (frozenset({LISTED, SUSPENDED}), WITHDRAWN),
}

# The commission's opinion decides what happens to the version.
OPINIONS = {
    "favourable": "publish",
    "favourable_with_reservations": "publish",  # non-suspensive reservations
    "favourable_with_suspensive_reservations": "request_changes",
    "unfavourable": "reject",
}


def _transition(transitions: Dict[str, Tuple[FrozenSet[str], str]], current: str, action: str,
                what: str) -> str:
    allowed, target = transitions[action]
    if current not in allowed:
        raise Conflict(f"Cannot {action.replace('_', ' ')} {what} that is {current.replace('_', ' ')}.",
                       [{"current": current, "allowed_from": sorted(allowed)}])
    return target


def next_version_state(state: str, action: str) -> str:
    return _transition(VERSION_TRANSITIONS, state, action, "a version")


def next_app_status(status: str, action: str) -> str:
    return _transition(APP_TRANSITIONS, status, action, "an app")

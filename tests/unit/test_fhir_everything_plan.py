"""$everything's planning on its own: `_since`, the cursor (only this operation's, only inside a type
the token searches and its key range), and how a page is filled across types, against a record
that pages as DynamoDB does (`Limit` items read, a filter setting some aside)."""
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from chalicelib import cursors
from chalicelib.errors import InvalidRequest
from chalicelib.fhir import everything
from chalicelib.fhir.access import Permission
from chalicelib.fhir.everything import TYPES, parse_since, plan_everything, read_page

EVERY = Permission(None)
PATIENT = "internal-alice"


def plan(granted=TYPES, patient=EVERY, lenient=False, **params):
    return plan_everything({name: [value] for name, value in params.items()}, lenient, patient,
                           {kind: EVERY for kind in granted})


@pytest.mark.parametrize("text, expected", [
    ("2026-11-20T09:00:00Z", datetime(2026, 11, 20, 9, tzinfo=timezone.utc)),
    ("2026-11-20T10:00:00+01:00", datetime(2026, 11, 20, 9, tzinfo=timezone.utc)),
    ("2026-11-20T09:00:00.123456789Z", datetime(2026, 11, 20, 9, 0, 0, 123456, tzinfo=timezone.utc)),
    ("2026-11-20T09:00:00.5-02:00", datetime(2026, 11, 20, 11, 0, 0, 500000, tzinfo=timezone.utc)),
    ("2026-11-20", datetime(2026, 11, 20, tzinfo=timezone.utc)),
])
def test_since_takes_an_instant_or_a_date(text, expected):
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-11-20T09:00:00", "2026-11-20T09:00Z", "2026-11",
                                  "2026-02-30", "1700-01-01", "3000-01-01T00:00:00Z", "2026-11-20 09:00:00Z",
                                  "2026-11-20T25:00:00Z", ""])
def test_since_refuses_anything_else(text):
    with pytest.raises(InvalidRequest):
        parse_since(text)


def test_the_plan_follows_the_token_and_the_parameters():
    first = plan(_count="5", _since="2026-11-20")
    assert first.patient and first.count == 5 and sorted(first.queries) == [0, 1, 2]
    assert first.queries[0].visible_only and not first.queries[1].visible_only, "hidden: documents only"
    assert all(query.updated_since == datetime(2026, 11, 20, tzinfo=timezone.utc) for query in first.queries.values())
    assert first.echo == [("_count", "5"), ("_since", "2026-11-20")]
    granular = plan_everything({}, False, None, {"Observation": Permission(frozenset({"vital-signs"}))})
    assert not granular.patient and list(granular.queries) == [1] and granular.start_type == 1
    assert granular.queries[1].categories == ["vital-signs"]
    assert plan(_count="1000").count == 100
    with pytest.raises(InvalidRequest):
        plan(start="2026-01-01")
    assert plan(lenient=True, start="2026-01-01").echo == [("_count", "20")]
    resumed = plan(_cursor=cursors.encode({"t": 1}))
    assert not resumed.patient and resumed.start_type == 1 and resumed.start_key is None


@pytest.mark.parametrize("position", [
    {}, {"t": "1"}, {"t": True}, {"t": 3}, {"t": -1}, {"t": 0, "x": 1},
    {"t": 1, "k": "Observation#a"},
    {"t": 1, "k": "Observation#a", "i": "DocumentReference#2026#a"},
    {"t": 1, "k": "DocumentReference#a", "i": "Observation#2026#a"},
    {"t": 1, "k": "Observation#" + "a" * 600, "i": "Observation#2026#a"},
    {"t": 2, "k": 1, "i": 2},
])
def test_a_forged_cursor_is_refused(position):
    with pytest.raises(InvalidRequest):
        plan(_cursor=cursors.encode(position))


def test_a_cursor_of_a_type_the_token_does_not_search_is_refused():
    with pytest.raises(InvalidRequest):
        plan(granted=("DocumentReference",), _cursor=cursors.encode({"t": 1}))
    for garbage in ("%%%", "x" * 3000, cursors.encode([1])):
        with pytest.raises(InvalidRequest):
            plan(_cursor=garbage)


class PagedRecord:
    """A record's Queries as DynamoDB answers them: newest first, `Limit` items read, the hidden
    ones set aside by the filter after they were read, `LastEvaluatedKey` when more may follow."""

    def __init__(self, items):
        self.items = items  # type -> [(date_key, item_key, visible)], newest first
        self.calls = []

    def run_page(self, patient_id, query, start):
        assert patient_id == PATIENT and (start is None or start["patient_id"] == {"S": PATIENT})
        self.calls.append((query.resource_type, query.count))
        items = self.items[query.resource_type]
        begin = 0 if start is None else 1 + [key for _, key, _ in items].index(start["item_key"]["S"])
        read = items[begin:begin + query.count + 1]
        kept = [item for item in read if item[2]]
        last = read[-1] if begin + len(read) < len(items) else None
        if len(kept) > query.count:
            kept, last = kept[:query.count], kept[query.count - 1]
        position = None if last is None else {"patient_id": {"S": PATIENT}, "item_key": {"S": last[1]},
                                              "date_key": {"S": last[0]}}
        return [key for _, key, _ in kept], position


def record(sizes, hidden):
    """Items of each type (`sizes` of them), newest first; the documents numbered in `hidden` hidden."""
    return {kind: [(f"{kind}#2026-{1000 - n:04d}#{n}", f"{kind}#{n}", not (kind == "DocumentReference" and n in hidden))
                   for n in range(size)] for kind, size in zip(TYPES, sizes, strict=True)}


# The fixture only swaps a function, which each example sets again: it may be shared between examples.
@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.tuples(*[st.integers(0, 9)] * 3), hidden=st.sets(st.integers(0, 9), max_size=5),
       count=st.integers(1, 6), granted=st.sets(st.sampled_from(TYPES)), patient=st.booleans())
def test_walking_the_pages_returns_every_visible_item_once_in_order(monkeypatch_everything, sizes, hidden, count,
                                                                     granted, patient):
    if not granted and not patient:
        return
    fake = PagedRecord(record(sizes, hidden))
    monkeypatch_everything(fake.run_page)
    cursor, walked, pages = None, [], 0
    while True:
        params = {"_count": [str(count)], **({"_cursor": [cursor]} if cursor else {})}
        page_plan = plan_everything(params, False, EVERY if patient else None, {kind: EVERY for kind in granted})
        fake.calls.clear()
        rows, cursor = read_page(PATIENT, page_plan)
        room = count - (1 if page_plan.patient else 0)
        assert len(rows) <= room
        assert len(fake.calls) == len({kind for kind, _ in fake.calls}), "at most one Query per type"
        assert all(asked <= room for _, asked in fake.calls), "each reads at most what is left, plus one"
        walked += rows
        pages += 1
        assert pages < 100
        if cursor is None:
            break
    expected = [key for kind in TYPES if kind in granted for _, key, visible in record(sizes, hidden)[kind] if visible]
    assert walked == expected


@pytest.fixture
def monkeypatch_everything():
    """Replaces the record's Queries for the length of a test (hypothesis runs many examples in one)."""
    original = everything.run_page

    def replace(fake):
        everything.run_page = fake
    yield replace
    everything.run_page = original


def test_a_page_continues_in_the_next_type_with_what_is_left(monkeypatch_everything):
    fake = PagedRecord(record((2, 5, 3), hidden=set()))
    monkeypatch_everything(fake.run_page)
    rows, cursor = read_page(PATIENT, plan(_count="6"))
    assert rows == ["DocumentReference#0", "DocumentReference#1", "Observation#0", "Observation#1", "Observation#2"]
    assert fake.calls == [("DocumentReference", 5), ("Observation", 3)], "the Patient takes one place"
    assert cursors.decode(cursor) == {"t": 1, "k": "Observation#2", "i": "Observation#2026-0998#2"}
    fake.calls.clear()
    rows, cursor = read_page(PATIENT, plan(_count="2", _cursor=cursor))
    assert rows == ["Observation#3", "Observation#4"] and cursors.decode(cursor) == {"t": 2}
    assert fake.calls == [("Observation", 2)], "no room left: the next page starts the next type"

"""Who may act for whom (identity/families.py): a legal representative, until the child's 18th birthday."""
from datetime import date, datetime, timezone

from chalicelib.config import settings
from chalicelib.identity.families import (REPRESENTATIVE, SELF, DemoFamilyRecords, Families, NoFamilyRecords, Person,
                                          choice_of, chosen)


def families_at(moment):
    return Families(DemoFamilyRecords(settings.catalog_dir), lambda: moment)


def test_the_18th_birthday_is_at_midnight_in_paris():
    noah = Person("n", "Noah", "Martin", date(2010, 4, 9))
    assert noah.comes_of_age == datetime(2028, 4, 8, 22, 0, tzinfo=timezone.utc)  # summer time: UTC+2
    leap = Person("l", "Léo", "Petit", date(2008, 2, 29))
    assert leap.comes_of_age == datetime(2026, 2, 28, 23, 0, tzinfo=timezone.utc)  # 1 March, winter time


def test_a_parent_acts_for_each_child_until_they_come_of_age():
    before = families_at(datetime(2028, 4, 8, 21, 59, tzinfo=timezone.utc))
    assert [(o.person.id, o.kind) for o in before.options("demo-alice")] == [
        ("demo-alice", SELF), ("demo-noah", REPRESENTATIVE), ("demo-lina", REPRESENTATIVE)]
    assert [o.person.id for o in before.options("demo-thomas")][1:] == ["demo-noah", "demo-lina"]  # both parents
    after = families_at(datetime(2028, 4, 8, 22, 0, tzinfo=timezone.utc))
    assert [o.person.id for o in after.options("demo-alice")] == ["demo-alice", "demo-lina"]
    assert after.acting_for("demo-alice", "demo-noah") is None
    assert after.represented_by("demo-noah") == []
    assert [o.person.id for o in before.represented_by("demo-noah")] == ["demo-alice", "demo-thomas"]


def test_no_one_acts_for_a_stranger_and_without_records_everyone_acts_for_themselves():
    now = families_at(datetime(2026, 12, 2, tzinfo=timezone.utc))
    assert now.acting_for("demo-karim", "demo-lina") is None
    assert now.acting_for("demo-noah", "demo-alice") is None  # not the other way round
    unconnected = Families(NoFamilyRecords(), lambda: datetime(2026, 12, 2, tzinfo=timezone.utc))
    assert [(o.person.id, o.kind) for o in unconnected.options("anyone")] == [("anyone", SELF)]


def test_a_choice_names_no_one_and_binds_to_its_session():
    options = families_at(datetime(2026, 12, 2, tzinfo=timezone.utc)).options("demo-alice")
    value = choice_of("session-a", "demo-lina")
    assert "lina" not in value and chosen("session-a", value, options).person.id == "demo-lina"
    assert chosen("session-b", value, options) is None  # another session's value means nothing
    assert chosen("session-a", "demo-lina", options) is None and chosen("session-a", None, options) is None

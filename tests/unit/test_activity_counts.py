"""The commission's évaluation counts each app's accesses per day from the Audit table's stream
(notify/events.py FanOut, records/store.py ActivityCounts): 30 days of them in one read, and never a
citizen in the counts."""
from datetime import datetime, timedelta, timezone

from chalicelib.config import settings
from chalicelib.notify.events import FanOut
from chalicelib.notify.topics import load_topics
from chalicelib.records.audit import new_entry
from chalicelib.records.models import AppDayCount
from chalicelib.referencing.activity import ActivityReport

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)


class Queue:
    def __init__(self):
        self.sent = []

    def send(self, messages):
        self.sent += messages


def inserted(entry):
    arn = f"arn:aws:dynamodb:eu-west-3:111122223333:table/{settings.audit_table}/stream/2026"
    return {"eventName": "INSERT", "eventSourceARN": arn, "dynamodb": {"NewImage": entry.serialize()}}


def test_accesses_are_counted_per_app_and_day_and_read_thirty_days_at_a_time(aws):
    fan_out = FanOut(lambda: NOW, load_topics(settings.catalog_dir), Queue(), settings.records_table,
                     settings.consents_table, settings.audit_table)
    entries = [new_entry(patient, app, NOW - timedelta(days=days), "search", "Observation", count=3)
               for patient, app, days in [("demo-alice", "demo-sandbox", 0), ("demo-karim", "demo-sandbox", 0),
                                          ("demo-alice", "demo-sandbox", 12), ("demo-alice", "gluco-suivi", 1),
                                          ("demo-alice", "demo-sandbox", 45)]]
    fan_out.handle({"Records": [inserted(entry) for entry in entries]})
    fan_out.handle({"Records": [inserted(entries[0])]})  # a later batch adds to the day
    report = ActivityReport(lambda: NOW)
    assert report.of_app("demo-sandbox")["fhir_calls_30_days"] == 4  # 3 today, 1 twelve days ago; not 45 days
    assert report.of_app("gluco-suivi")["fhir_calls_30_days"] == 1
    assert report.of_app("bien-dormir")["fhir_calls_30_days"] == 0
    counts = list(AppDayCount.query("app#demo-sandbox"))
    assert {c.at_key: int(c.calls) for c in counts} == {"2026-12-02": 3, "2026-11-20": 1, "2026-10-18": 1}
    assert all(c.expires_at > NOW for c in counts if c.at_key >= "2026-11-02")
    # The counts' own writes come back on the stream: they count nothing and alert no one.
    again = FanOut(lambda: NOW, load_topics(settings.catalog_dir), Queue(), settings.records_table,
                   settings.consents_table, settings.audit_table)
    assert again.handle({"Records": [inserted(counts[0])]}) == {"notifications": 0, "alerts": 0}
    assert ActivityReport(lambda: NOW).of_app("demo-sandbox")["fhir_calls_30_days"] == 4

"""No item grows with the number of events: an app's history and a consent's receipt live in items
of their own, and the items a FHIR call touches (the consent, the app's status item, the audit
entry) keep their size whatever happened to the listing before."""
import json
from datetime import datetime, timezone

import boto3

from chalicelib.catalog.models import HEAD_VERSION, AppEvent, AppHead, AppItem
from chalicelib.config import settings
from chalicelib.identity.service import Principal
from chalicelib.referencing.workflow import HISTORY_PAGE
from tests.helpers.oauth import two_authorizations
from tests.helpers.smart import fhir_get

PUBLISHER = Principal("publisher-1", "https://proconnect.test", "publisher", "Test publisher", "73282932000074")
EVENTS = 500  # any growth per event would show; moto copies the table at each transaction


def raw_item(table, **key):
    client = boto3.client("dynamodb", region_name=settings.region)
    typed = {name: ({"N": str(value)} if isinstance(value, int) else {"S": value}) for name, value in key.items()}
    return client.get_item(TableName=table, Key=typed, ConsistentRead=True)["Item"]


def size(item):
    return len(json.dumps(item, sort_keys=True))


def touched_by_a_fhir_call(client, token):
    """The items a FHIR read touches, as stored: the consent and the app's status item (read), and
    the audit entry it wrote."""
    assert fhir_get(client, "/fhir/Observation", token, _count=1).status_code == 200
    audit = boto3.client("dynamodb", region_name=settings.region).query(
        TableName=settings.audit_table, KeyConditionExpression="patient_id = :p",
        ExpressionAttributeValues={":p": {"S": "demo-alice"}}, ScanIndexForward=False, Limit=1)["Items"][0]
    return {"consent": size(raw_item(settings.consents_table, patient_id="demo-alice", item_key="demo-sandbox")),
            "status": size(raw_item(settings.apps_table, app_id="demo-sandbox", version=-1)),
            "audit entry": size({k: v for k, v in audit.items() if k not in ("at_key", "app_key", "at")})}


def earlier_events(count):
    """`count` history entries of demo-sandbox, stored as the workflow's commit stores them (an
    AppEvent under -1 - the head's revision, the head's revision moved on). Written in one batch:
    moto copies a whole table at each transaction, so hundreds of commits would take it minutes."""
    head = AppHead.get("demo-sandbox", HEAD_VERSION)
    now = datetime.now(timezone.utc)
    with AppItem.batch_write() as batch:
        for revision in range(head.revision + 1, head.revision + 1 + count):
            batch.save(AppEvent("demo-sandbox", AppEvent.key_of(revision), at=now, action="updated",
                                actor=PUBLISHER.as_actor(), details={"version": 1}))
    head.update(actions=[AppHead.revision.set(head.revision + count)])


def test_hundreds_of_listing_events_leave_the_items_of_a_fhir_call_unchanged_in_size(client, records):
    import app as application
    token, _ = two_authorizations(client)
    before = touched_by_a_fhir_call(client, token)
    head_before = size(raw_item(settings.apps_table, app_id="demo-sandbox", version=0))
    earlier_events(EVENTS - 10)
    publisher = application.publisher_service  # and the last 10 through the publisher's own workflow
    draft = publisher.start_version(PUBLISHER, "demo-sandbox", None)
    for _ in range(9):
        draft = publisher.update_version(PUBLISHER, "demo-sandbox", draft.version, draft.document,
                                         f'"{draft.version}.{draft.revision}"')
    after = touched_by_a_fhir_call(client, token)
    assert after == before
    assert before["status"] < 1024 and before["consent"] < 1024
    # The head is not touched by FHIR calls, and does not grow either (its revision counter aside).
    assert size(raw_item(settings.apps_table, app_id="demo-sandbox", version=0)) - head_before < 16
    history = publisher.get_app(PUBLISHER, "demo-sandbox")["history"]
    assert len(history) == HISTORY_PAGE and history[-1]["action"] == "updated"
    assert history[0]["at"] <= history[-1]["at"]

"""The DynamoDB double (tests/dynamodb_double.py): conflicts as DynamoDB makes them, faults as it
sends them, botocore's and PynamoDB's answers to both, and moto untouched without it."""
import threading
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from unittest import mock

import boto3
import botocore.endpoint
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber
from pynamodb.connection import Connection
from pynamodb.exceptions import GetError, PutError, TransactGetError, TransactWriteError
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.config import settings
from chalicelib.records.models import AuditItem, RecordItem
from chalicelib.storage import ensure_tables
from tests.dynamodb_double import dynamodb_double

AUDIT = settings.audit_table  # key: patient_id, at_key
RECORDS = settings.records_table  # key: patient_id, item_key
REGION = settings.region
DELAY = 0.5  # seconds a write stays in flight where conflicts are wanted


@pytest.fixture
def tables(monkeypatch):
    """moto with the audit and records tables, and botocore's own retry defaults (no user config)."""
    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    with mock_aws():
        ensure_tables((AuditItem, RecordItem))
        yield


@pytest.fixture
def client(tables):
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def backoffs():
    """The delays botocore's retries ask for, recorded instead of slept (a throttling retry may
    wait up to 1, 2 then 4 s)."""
    delays = []
    with mock.patch.object(botocore.endpoint, "time", SimpleNamespace(sleep=delays.append)):
        yield delays


def audit_key(patient="p-1", at="2026-01-01T00:00:00Z#a"):
    return {"patient_id": {"S": patient}, "at_key": {"S": at}}


def audit_item(value, **key):
    return {**audit_key(**key), "app_id": {"S": value}}


def put(item, table=AUDIT):
    return {"Put": {"TableName": table, "Item": item}}


def stored(client, key=None, table=AUDIT):
    item = client.get_item(TableName=table, Key=key or audit_key(), ConsistentRead=True).get("Item")
    return item and item["app_id"]["S"]


def error_code(error):
    return error.response["Error"]["Code"]


def reason_codes(error):
    return [reason["Code"] for reason in error.response["CancellationReasons"]]


def at_once(*calls):
    """Run the calls in threads released together; their results or ClientErrors, in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except ClientError as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def in_background(call):
    thread = threading.Thread(target=call)
    thread.start()
    return thread


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.001)


def audit_model(patient="p-1", at="2026-01-01T00:00:00Z#a", app_id="app"):
    now = datetime.now(timezone.utc)
    return AuditItem(patient, at, app_key=f"{app_id}#{at}", app_id=app_id, at=now, interaction="read",
                     resource_type="Observation", outcome="allowed", expires_at=timedelta(days=1))


# -- conflicts --------------------------------------------------------------------------------------

def test_two_transactions_writing_one_item_at_once_cancel_one_of_them_for_the_conflict(client):
    with dynamodb_double(in_flight_delay=DELAY) as double:
        first, second = at_once(
            lambda: client.transact_write_items(TransactItems=[
                put(audit_item("first")), put(audit_item("first", at="first-only"))]),
            lambda: client.transact_write_items(TransactItems=[
                put(audit_item("second", at="second-only")), put(audit_item("second"))]),
        )

    cancelled = [result for result in (first, second) if isinstance(result, ClientError)]
    assert len(cancelled) == 1
    error = cancelled[0]
    assert error_code(error) == "TransactionCanceledException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    winner, loser = ("first", "second") if error is second else ("second", "first")
    expected = ["None", "TransactionConflict"] if loser == "second" else ["TransactionConflict", "None"]
    assert reason_codes(error) == expected
    assert f"specific reasons [{', '.join(expected)}]" in error.response["Error"]["Message"]
    assert stored(client) == winner
    assert stored(client, audit_key(at=f"{winner}-only")) == winner
    assert stored(client, audit_key(at=f"{loser}-only")) is None  # all or nothing
    assert double.conflicts == 1
    assert double.calls["TransactWriteItems"] == 2


def test_transactions_on_different_items_of_one_partition_both_succeed_while_in_flight_together(client):
    with dynamodb_double(in_flight_delay=DELAY) as double:
        started = time.monotonic()
        results = at_once(
            lambda: client.transact_write_items(TransactItems=[put(audit_item("a", at="a"))]),
            lambda: client.transact_write_items(TransactItems=[put(audit_item("b", at="b"))]),
        )
        elapsed = time.monotonic() - started

    assert not [result for result in results if isinstance(result, ClientError)]
    assert elapsed < 2 * DELAY  # they were in flight at the same time, not one after the other
    assert stored(client, audit_key(at="a")) == "a" and stored(client, audit_key(at="b")) == "b"
    assert double.conflicts == 0


def test_a_put_item_meeting_an_in_flight_transaction_is_refused_while_reads_go_through(client):
    with dynamodb_double(in_flight_delay=2.0) as double:  # ample for the calls made meanwhile, even on a loaded machine
        transaction = in_background(lambda: client.transact_write_items(TransactItems=[put(audit_item("tx"))]))
        wait_until(lambda: double.calls["TransactWriteItems"] == 1)

        with pytest.raises(ClientError) as refused:
            client.put_item(TableName=AUDIT, Item=audit_item("single"))
        read = client.get_item(TableName=AUDIT, Key=audit_key())
        batch = client.batch_get_item(RequestItems={AUDIT: {"Keys": [audit_key()]}})
        query = client.query(TableName=AUDIT, KeyConditionExpression="patient_id = :p",
                             ExpressionAttributeValues={":p": {"S": "p-1"}})
        assert transaction.is_alive()  # all of the above met the transaction in flight
        transaction.join(5)

    assert error_code(refused.value) == "TransactionConflictException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Item" not in read and batch["Responses"][AUDIT] == [] and query["Items"] == []  # read committed
    assert batch["UnprocessedKeys"] == {}
    assert stored(client) == "tx"  # the refused write wrote nothing
    assert double.conflicts == 1
    assert double.calls["PutItem"] == 1  # TransactionConflictException is not retried


def test_transactions_meeting_an_in_flight_single_write_are_cancelled_and_another_single_write_is_not(client):
    with dynamodb_double(in_flight_delay=0.3) as double:
        writing = in_background(lambda: client.put_item(TableName=AUDIT, Item=audit_item("single")))
        wait_until(lambda: double.calls["PutItem"] == 1)

        with pytest.raises(ClientError) as read_cancelled:
            client.transact_get_items(TransactItems=[
                {"Get": {"TableName": AUDIT, "Key": audit_key(at="other")}},
                {"Get": {"TableName": AUDIT, "Key": audit_key()}}])
        with pytest.raises(ClientError) as write_cancelled:
            client.transact_write_items(TransactItems=[
                {"ConditionCheck": {"TableName": AUDIT, "Key": audit_key(),
                                    "ConditionExpression": "attribute_not_exists(patient_id)"}}])
        assert writing.is_alive()
        client.put_item(TableName=AUDIT, Item=audit_item("second single"))  # not refused: waits its delay
        writing.join(5)

    assert error_code(read_cancelled.value) == "TransactionCanceledException"
    assert reason_codes(read_cancelled.value) == ["None", "TransactionConflict"]
    assert reason_codes(write_cancelled.value) == ["TransactionConflict"]
    assert stored(client) in ("single", "second single")
    assert double.conflicts == 2 and double.calls["PutItem"] == 2


def test_pynamodb_receives_conflicts_with_dynamodb_s_codes(client):
    connection = Connection(region=REGION)
    with dynamodb_double(in_flight_delay=2.0) as double:  # ample for the calls made meanwhile, even on a loaded machine
        holder = in_background(lambda: client.transact_write_items(TransactItems=[put(audit_item("tx"))]))
        wait_until(lambda: double.calls["TransactWriteItems"] == 1)

        with pytest.raises(TransactWriteError) as write_error:
            with TransactWrite(connection=connection) as transaction:
                transaction.save(audit_model(at="other"))
                transaction.save(audit_model())
        with pytest.raises(TransactGetError) as get_error:
            with TransactGet(connection=connection) as transaction:
                transaction.get(AuditItem, "p-1", "2026-01-01T00:00:00Z#a")
        with pytest.raises(PutError) as put_error:
            audit_model(app_id="single").save()
        assert holder.is_alive()
        holder.join(5)

    assert write_error.value.cause_response_code == "TransactionCanceledException"
    reasons = write_error.value.cancellation_reasons
    assert reasons[0] is None  # PynamoDB turns DynamoDB's {"Code": "None"} into None
    assert (reasons[1].code, reasons[1].message) == ("TransactionConflict", "Transaction is ongoing for the item")
    assert [reason and reason.code for reason in get_error.value.cancellation_reasons] == ["TransactionConflict"]
    assert put_error.value.cause_response_code == "TransactionConflictException"
    assert put_error.value.cause_response_message == "Transaction is ongoing for the item"
    assert stored(client) == "tx" and stored(client, audit_key(at="other")) is None
    assert double.conflicts == 3


# -- faults -----------------------------------------------------------------------------------------

def test_a_put_item_throttled_once_is_retried_by_botocore_and_written_once(client, backoffs):
    with dynamodb_double() as double:
        double.fail("PutItem", "ProvisionedThroughputExceededException", times=1)
        client.put_item(TableName=AUDIT, Item=audit_item("written"))

    assert stored(client) == "written"
    assert double.calls["PutItem"] == 2 and double.faults_injected == 1
    assert len(backoffs) == 1 and 0 <= backoffs[0] <= 1.0  # throttling: rand(0, 1) x 1 s


@pytest.mark.parametrize("error, status, scale", [
    ("ProvisionedThroughputExceededException", 400, 1.0),
    ("ThrottlingException", 400, 1.0),
    ("InternalServerError", 500, 0.025),
    ("ServiceUnavailable", 503, 0.025),
])
def test_a_put_item_failing_every_time_surfaces_after_botocore_s_four_attempts_and_writes_nothing(
        client, backoffs, error, status, scale):
    with dynamodb_double() as double:
        double.fail("PutItem", error, times=None)
        with pytest.raises(ClientError) as failed:
            client.put_item(TableName=AUDIT, Item=audit_item("never"))

    assert error_code(failed.value) == error
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert failed.value.response["ResponseMetadata"]["RetryAttempts"] == 3
    assert double.calls["PutItem"] == 4 and double.faults_injected == 4
    assert len(backoffs) == 3
    assert all(0 <= delay <= scale * 2 ** attempt for attempt, delay in enumerate(backoffs))
    assert stored(client) is None


@pytest.mark.parametrize("error", ["ProvisionedThroughputExceededException", "ThrottlingException",
                                   "InternalServerError", "ServiceUnavailable"])
def test_pynamodb_surfaces_a_lasting_fault_with_its_code_once_its_attempts_are_spent(tables, backoffs, error):
    attempts = 1 + AuditItem.Meta.max_retry_attempts  # PynamoDB's botocore config: total_max_attempts
    with dynamodb_double() as double:
        double.fail("PutItem", error, times=None)
        double.fail("GetItem", error, times=None)
        with pytest.raises(PutError) as put_error:
            audit_model().save()
        with pytest.raises(GetError) as get_error:
            AuditItem.get("p-1", "2026-01-01T00:00:00Z#a")

    assert put_error.value.cause_response_code == error
    assert get_error.value.cause_response_code == error
    assert double.calls["PutItem"] == attempts and double.calls["GetItem"] == attempts
    assert len(backoffs) == 2 * (attempts - 1)


def test_a_fault_limited_to_one_table_leaves_the_other_tables_alone(client, backoffs):
    record_key = {"patient_id": {"S": "p-1"}, "item_key": {"S": "Patient#self"}}
    with dynamodb_double() as double:
        double.fail("BatchGetItem", "InternalServerError", times=None, table=AUDIT)
        double.fail("TransactWriteItems", "InternalServerError", times=None, table=AUDIT)

        records = client.batch_get_item(RequestItems={RECORDS: {"Keys": [record_key]}})
        client.transact_write_items(TransactItems=[put({**record_key, "app_id": {"S": "kept"}}, RECORDS)])
        with pytest.raises(ClientError) as both:
            client.batch_get_item(RequestItems={RECORDS: {"Keys": [record_key]}, AUDIT: {"Keys": [audit_key()]}})
        with pytest.raises(ClientError) as transaction:
            client.transact_write_items(TransactItems=[
                put({**record_key, "app_id": {"S": "lost"}}, RECORDS), put(audit_item("lost"))])

    assert records["Responses"][RECORDS] == []
    assert error_code(both.value) == "InternalServerError" and error_code(transaction.value) == "InternalServerError"
    assert double.calls["BatchGetItem"] == 1 + 4 and double.calls["TransactWriteItems"] == 1 + 4
    assert double.faults_injected == 8
    assert stored(client, record_key, RECORDS) == "kept" and stored(client) is None


def test_clear_faults_ends_a_lasting_fault_and_unknown_names_are_refused(client):
    with dynamodb_double() as double:
        double.fail("GetItem", "InternalServerError", times=None)
        double.clear_faults()
        client.get_item(TableName=AUDIT, Key=audit_key())
        with pytest.raises(ValueError):
            double.fail("GetItems", "InternalServerError")
        with pytest.raises(ValueError):
            double.fail("GetItem", "InternalError")

    assert double.calls["GetItem"] == 1 and double.faults_injected == 0


# -- without the double -----------------------------------------------------------------------------

def write_one_item_twice_at_once(client):
    return at_once(lambda: client.transact_write_items(TransactItems=[put(audit_item("first"))]),
                   lambda: client.transact_write_items(TransactItems=[put(audit_item("second"))]))


def test_moto_alone_never_cancels_a_transaction_for_a_conflict(client):
    assert not [result for result in write_one_item_twice_at_once(client) if isinstance(result, ClientError)]


def test_once_the_double_exits_moto_is_as_before(client):
    original = BotocoreStubber.__call__
    with dynamodb_double(in_flight_delay=DELAY) as double:
        double.fail("PutItem", "InternalServerError", times=None)
        sts = boto3.client("sts", region_name=REGION).get_caller_identity()  # not DynamoDB: untouched
        assert BotocoreStubber.__call__ is not original

    assert sts["Account"] and set(double.calls) == set()
    assert BotocoreStubber.__call__ is original
    client.put_item(TableName=AUDIT, Item=audit_item("written"))
    assert not [result for result in write_one_item_twice_at_once(client) if isinstance(result, ClientError)]
    assert double.calls["PutItem"] == 0 and double.conflicts == 0


def test_the_double_is_not_nested(tables):
    with dynamodb_double():
        with pytest.raises(RuntimeError):
            with dynamodb_double():
                pass


def test_the_double_needs_an_active_mock_aws():
    with pytest.raises(RuntimeError):
        with dynamodb_double():
            pass

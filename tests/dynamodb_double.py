"""A test double that owns DynamoDB's concurrency and faults on top of moto's in-process mock.

moto answers every request at once and one at a time: a transaction is never cancelled by another
in flight, nothing is throttled, nothing fails. Inside `with mock_aws(): with dynamodb_double() as
double:` DynamoDB requests behave here as the Developer Guide ("Transaction conflict handling")
says they do on AWS:

- A TransactWriteItems holds every item it names (Put, Update, Delete, ConditionCheck) from the
  moment it is sent until moto has answered, and waits `in_flight_delay` seconds before moto applies
  it, so that requests of other threads meet it. PutItem, UpdateItem, DeleteItem and BatchWriteItem
  hold their items the same way (same delay), without being transactional.
- A TransactWriteItems or TransactGetItems naming an item held by another request is cancelled:
  TransactionCanceledException (400), `CancellationReasons` one per TransactItems entry, in order,
  `{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}` or
  `{"Code": "None"}`.
- A PutItem, UpdateItem or DeleteItem of an item held by a TransactWriteItems is refused:
  TransactionConflictException (400). Two non-transactional writes of one item never conflict.
- GetItem, BatchGetItem, Query and Scan are never refused (read-committed): they go to moto at once.
- Faults: `double.fail("PutItem", "ProvisionedThroughputExceededException", times=2,
  table=...)` answers the next matching requests with that error (ThrottlingException,
  RequestLimitExceeded, InternalServerError (500), ServiceUnavailable (503)...) instead of moto.

A refused, cancelled or faulted request never reaches moto, so nothing of it is written. Errors are
synthetic HTTP responses with the JSON body DynamoDB sends (`__type`, `message`/`Message`,
`CancellationReasons`, `x-amz-crc32`), so botocore parses them and retries them as it would on AWS.
botocore 1.44.8's default retry mode is "standard" (AWS_RETRY_MODE, ~/.aws/config or a client's
Config can change it), and in that mode DynamoDB gets 4 attempts in all (3 elsewhere), the same
as PynamoDB 6.1's default (max_retry_attempts=3 in mode standard; a model's Meta.max_retry_attempts
changes it). It retries throttling
(ProvisionedThroughputExceededException, ThrottlingException, RequestLimitExceeded,
TransactionInProgressException) after rand(0, 1) x min(1 s x 2^(attempt-1), 20 s), and transient
errors (HTTP 500, 502, 503, 504) after rand(0, 1) x min(25 ms x 2^(attempt-1), 20 s), while a
client-side retry quota lasts (500 units, 5 a throttling retry, 14 another; refilled by successes).
It never retries TransactionConflictException nor TransactionCanceledException. (Legacy mode:
10 attempts, after 50 ms x 2^(attempt-1) without jitter, for ProvisionedThroughputExceededException,
ThrottlingException, TransactionInProgressException and HTTP 5xx, not RequestLimitExceeded.)

Not modelled: capacity and its accounting, item and transaction size limits, idempotency tokens
(ClientRequestToken), TransactionInProgressException, what a BatchWriteItem meeting a transaction
gets (it is let through), global tables, streams. Those are left to moto or to AWS's rules
elsewhere. moto itself is called one DynamoDB request at a time here (its TransactWriteItems
rolls back by restoring deep copies of whole tables, which concurrent requests would lose).

How: moto's `mock_aws` answers botocore from one `before-send` handler, the BotocoreStubber
instance registered in botocore's BUILTIN_HANDLERS (moto.core.models.botocore_stubber). The double
wraps `BotocoreStubber.__call__` for as long as it is active, so clients made before it are
covered too; requests other than DynamoDB's (X-Amz-Target `DynamoDB_20120810.<Operation>`) pass
through untouched. For tests only.
"""
from __future__ import annotations

import collections
import json
import re
import threading
import time
import uuid
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple
from unittest import mock

from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

TARGET_PREFIX = "DynamoDB_20120810."
ERROR_NAMESPACE = "com.amazonaws.dynamodb.v20120810#"

# Errors `fail` can inject: HTTP status and DynamoDB's message.
ERRORS: Dict[str, Tuple[int, str]] = {
    "ProvisionedThroughputExceededException": (
        400, "The level of configured provisioned throughput for the table was exceeded. "
             "Consider increasing your provisioning level with the UpdateTable API."),
    "ThrottlingException": (400, "Rate of requests exceeds the allowed throughput."),
    "RequestLimitExceeded": (400, "Throughput exceeds the current throughput limit for your account. "
                                  "Please contact AWS Support at https://aws.amazon.com/support "
                                  "to request a limit increase"),
    "InternalServerError": (500, "Internal server error"),
    "ServiceUnavailable": (503, "Service unavailable"),
}

CONFLICT_MESSAGE = "Transaction is ongoing for the item"
CANCELLED_MESSAGE = "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]"

_WRITES = ("PutItem", "UpdateItem", "DeleteItem")

# (region, table name, key attributes as canonical JSON)
ItemKey = Tuple[str, str, str]

_active_lock = threading.Lock()
_active: Optional["DynamoDBDouble"] = None


@dataclass
class _Fault:
    operation: str
    error: str
    times: Optional[int]
    table: Optional[str]


class DynamoDBDouble:
    """What the tests read and steer while the double is active (see the module's docstring)."""

    def __init__(self, in_flight_delay: float = 0.0) -> None:
        self.in_flight_delay = in_flight_delay
        self.conflicts = 0  # transactions cancelled for TransactionConflict, plus single writes refused
        self.calls: collections.Counter = collections.Counter()  # every attempt sent, by operation
        self.faults_injected = 0
        self._lock = threading.Lock()  # the in-flight registry, faults and counters
        self._moto_lock = threading.RLock()  # moto answers one DynamoDB request at a time
        self._faults: List[_Fault] = []
        self._held_by_transactions: collections.Counter = collections.Counter()
        self._held_by_writes: collections.Counter = collections.Counter()

    # -- steering ---------------------------------------------------------------------------------

    def fail(self, operation: str, error: str, times: Optional[int] = 1, table: Optional[str] = None) -> None:
        """Answer the next `times` `operation` requests (all of them when None) with `error`
        instead of moto; with `table`, only requests naming that table."""
        if operation not in _operation_names():
            raise ValueError(f"DynamoDB has no operation {operation!r}")
        if error not in ERRORS:
            raise ValueError(f"unknown error {error!r}; known: {', '.join(sorted(ERRORS))}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for always")
        with self._lock:
            self._faults.append(_Fault(operation, error, times, table))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- the before-send handler ------------------------------------------------------------------

    def handle(self, request: Any, answer: Callable[[], Optional[AWSResponse]]) -> Optional[AWSResponse]:
        """Answer a DynamoDB request: a fault, a conflict, or moto's answer (`answer()`)."""
        operation = _target(request)[len(TARGET_PREFIX):]
        body = _json_body(request)
        region = _region(request)
        holds: List[ItemKey] = []
        transactional = False
        with self._lock:
            self.calls[operation] += 1
            fault = self._take_fault(operation, body)
            if fault is not None:
                self.faults_injected += 1
                status, message = ERRORS[fault.error]
                return _error_response(request, status, fault.error, {"message": message})
            if operation in ("TransactWriteItems", "TransactGetItems"):
                keys = [self._transact_item_key(region, entry) for entry in body.get("TransactItems", [])]
                conflicting = [key is not None and self._is_held(key) for key in keys]
                if any(conflicting):
                    self.conflicts += 1
                    return _cancelled_response(request, conflicting)
                if operation == "TransactWriteItems":
                    transactional = True
                    holds = [key for key in keys if key is not None]
            elif operation in _WRITES:
                key = self._item_key(region, body.get("TableName"), body.get("Item") or body.get("Key"))
                if key is not None:
                    if self._held_by_transactions[key]:
                        self.conflicts += 1
                        return _error_response(request, 400, "TransactionConflictException",
                                               {"message": CONFLICT_MESSAGE})
                    holds = [key]
            elif operation == "BatchWriteItem":
                for table, requests in (body.get("RequestItems") or {}).items():
                    for entry in requests:
                        put, delete = entry.get("PutRequest"), entry.get("DeleteRequest")
                        attributes = put.get("Item") if put else (delete or {}).get("Key")
                        key = self._item_key(region, table, attributes)
                        if key is not None:
                            holds.append(key)
            held = self._held_by_transactions if transactional else self._held_by_writes
            held.update(holds)
            delay = self.in_flight_delay if holds else 0.0
        try:
            if delay > 0:
                time.sleep(delay)
            with self._moto_lock:
                return answer()
        finally:
            if holds:
                with self._lock:
                    held.subtract(holds)
                    for key in holds:
                        if held[key] <= 0:
                            del held[key]

    # -- internals (call with self._lock held) ------------------------------------------------------

    def _take_fault(self, operation: str, body: Dict[str, Any]) -> Optional[_Fault]:
        for fault in self._faults:
            if fault.operation != operation or (fault.table is not None and fault.table not in _tables(body)):
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
            return fault
        return None

    def _is_held(self, key: ItemKey) -> bool:
        return bool(self._held_by_transactions[key] or self._held_by_writes[key])

    def _transact_item_key(self, region: str, entry: Dict[str, Any]) -> Optional[ItemKey]:
        for action in entry.values():  # one of Put, Update, Delete, ConditionCheck, Get
            return self._item_key(region, action.get("TableName"), action.get("Item") or action.get("Key"))
        return None

    def _item_key(self, region: str, table: Optional[str], attributes: Optional[Dict[str, Any]]
                  ) -> Optional[ItemKey]:
        """The item's identity, or None where moto has no such table (moto then answers the error)."""
        if not table or not attributes:
            return None
        names = _key_names(region, table)
        if names is None or any(name not in attributes for name in names):
            return None
        key = {name: attributes[name] for name in names}
        return region, table, json.dumps(key, sort_keys=True)


@contextmanager
def dynamodb_double(in_flight_delay: float = 0.0, backoff_scale: float = 0.01) -> Iterator[DynamoDBDouble]:
    """Make moto's DynamoDB behave like DynamoDB under concurrency and faults (module docstring).
    Use it inside an active `moto.mock_aws()`. botocore's retries keep their rules (which errors,
    how many attempts, jittered exponential delays) at `backoff_scale` of their delays: a throttled
    call retried twice costs milliseconds here, not the seconds it waits on AWS (1: AWS's own)."""
    global _active
    from moto.core.models import botocore_stubber

    if not botocore_stubber.enabled:
        raise RuntimeError("dynamodb_double() needs an active moto.mock_aws()")
    double = DynamoDBDouble(in_flight_delay)
    with _active_lock:
        if _active is not None:
            raise RuntimeError("a dynamodb_double() is already active")
        _active = double
    original = BotocoreStubber.__call__

    def before_send(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        def answer() -> Any:
            return original(stubber, event_name, request, **kwargs)

        if not stubber.enabled or not _target(request).startswith(TARGET_PREFIX):
            return answer()
        return double.handle(request, answer)

    scales = {name: value * backoff_scale for name, value in ExponentialBackoff._DEFAULT_BACKOFF_CONFIG.items()}
    service_scales = {name: {key: value * backoff_scale for key, value in config.items()}
                      for name, config in ExponentialBackoff._SERVICE_BACKOFF_CONFIG.items()}
    try:
        with mock.patch.object(BotocoreStubber, "__call__", before_send), \
                mock.patch.object(ExponentialBackoff, "_DEFAULT_BACKOFF_CONFIG", scales), \
                mock.patch.object(ExponentialBackoff, "_SERVICE_BACKOFF_CONFIG", service_scales):
            yield double
    finally:
        with _active_lock:
            _active = None


# -- requests and responses ---------------------------------------------------------------------------

def _target(request: Any) -> str:
    value = request.headers.get("X-Amz-Target") or ""
    return value.decode() if isinstance(value, bytes) else value


def _json_body(request: Any) -> Dict[str, Any]:
    body = request.body
    if hasattr(body, "read"):  # never for DynamoDB's JSON protocol; kept readable for moto
        return {}
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return {}


_REGION_IN_URL = re.compile(r"dynamodb\.([a-z0-9-]+)\.amazonaws\.com")
_REGION_IN_CREDENTIAL = re.compile(r"Credential=[^/]+/\d+/([^/]+)/")


def _region(request: Any) -> str:
    match = _REGION_IN_URL.search(request.url or "")
    if not match:
        authorization = request.headers.get("Authorization") or ""
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        match = _REGION_IN_CREDENTIAL.search(authorization)
    return match.group(1) if match else ""


def _tables(body: Dict[str, Any]) -> set:
    """Every table a request names: TableName, RequestItems' keys, TransactItems' TableName."""
    tables = set()
    if body.get("TableName"):
        tables.add(body["TableName"])
    tables.update((body.get("RequestItems") or {}).keys())
    for entry in body.get("TransactItems") or []:
        for action in entry.values():
            if isinstance(action, dict) and action.get("TableName"):
                tables.add(action["TableName"])
    return tables


def _key_names(region: str, table_name: str) -> Optional[Tuple[str, ...]]:
    """The key attribute names of a table, from moto's backends: the request's region first,
    then any region or account that has a table of that name."""
    from moto.dynamodb.models import dynamodb_backends

    found = None
    for account in list(dynamodb_backends.values()):
        for backend_region, backend in list(account.items()):
            table = backend.tables.get(table_name)
            if table is None:
                continue
            names = (table.hash_key_attr,) + ((table.range_key_attr,) if table.range_key_attr else ())
            if backend_region == region:
                return names
            found = found or names
    return found


_OPERATIONS: Optional[frozenset] = None


def _operation_names() -> frozenset:
    global _OPERATIONS
    if _OPERATIONS is None:
        import botocore.session

        _OPERATIONS = frozenset(botocore.session.get_session().get_service_model("dynamodb").operation_names)
    return _OPERATIONS


def _error_response(request: Any, status: int, code: str, fields: Dict[str, Any]) -> AWSResponse:
    body = json.dumps({"__type": ERROR_NAMESPACE + code, **fields}).encode()
    headers = {
        "x-amzn-RequestId": uuid.uuid4().hex.upper(),
        "Content-Type": "application/x-amz-json-1.0",
        "Content-Length": str(len(body)),
        "x-amz-crc32": str(zlib.crc32(body)),
    }
    return AWSResponse(request.url, status, headers, MockRawResponse(body))


def _cancelled_response(request: Any, conflicting: List[bool]) -> AWSResponse:
    reasons = [{"Code": "TransactionConflict", "Message": CONFLICT_MESSAGE} if conflict else {"Code": "None"}
               for conflict in conflicting]
    codes = ", ".join(reason["Code"] for reason in reasons)
    return _error_response(request, 400, "TransactionCanceledException",
                           {"CancellationReasons": reasons, "Message": CANCELLED_MESSAGE.format(codes)})

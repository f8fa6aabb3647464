"""What every table model shares: where DynamoDB is, and on-demand capacity."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from botocore.exceptions import ClientError, ConnectionError as BotocoreConnectionError, HTTPClientError
from pynamodb.connection import Connection
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.exceptions import PynamoDBException

from chalicelib.config import settings


class TableMeta:
    """Base of each model's Meta: subclasses name the table."""

    region = settings.region
    host = settings.dynamodb_endpoint
    billing_mode = PAY_PER_REQUEST_BILLING_MODE
    # botocore's standard retries (throttling, 5xx, connection errors), with jittered backoff: 3
    # attempts in all keep a throttled request's answer within about 3 s, then the edge answers 503
    # with Retry-After rather than keep a Lambda (and the app) waiting.
    max_retry_attempts = 2


# What DynamoDB answers when the fault is its load or its own, not the request: worth a retry later.
TRANSIENT_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException",
                             "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable",
                             "TransactionInProgressException"})


def is_transient(error: BaseException) -> bool:
    """Whether `error` (from PynamoDB or botocore) says "try again later": throttling, DynamoDB's
    own 5xx, or no answer at all."""
    if isinstance(error, PynamoDBException):
        return error.cause_response_code in TRANSIENT_CODES or (error.cause is not None and is_transient(error.cause))
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error.response.get("Error", {}).get("Code") in TRANSIENT_CODES or status >= 500
    return isinstance(error, (BotocoreConnectionError, HTTPClientError))


T = TypeVar("T")
Key = Dict[str, Dict[str, str]]
RawItem = Dict[str, Dict[str, Any]]


def one_page(parse: Callable[[RawItem], T], results: Any, limit: int, key_attributes: Sequence[str]
             ) -> Tuple[List[T], Optional[Key], Dict[str, Any]]:
    """Exactly one Query call: `results` was asked for `limit + 1` items, so that the extra one
    tells whether a next page exists. Returns the items (at most `limit`, each made by `parse` from
    DynamoDB's raw item: a model's `from_raw_data`, or a lighter reader), the key to resume after
    them (None at the end), and DynamoDB's raw page (ScannedCount, capacity)."""
    page = next(results.page_iter)
    raw_items = page.get("Items", [])
    next_key = page.get("LastEvaluatedKey")
    if len(raw_items) > limit:
        raw_items = raw_items[:limit]
        next_key = {name: raw_items[-1][name] for name in key_attributes}
    return [parse(raw) for raw in raw_items], next_key, page


@lru_cache(maxsize=1)
def transaction_connection() -> Connection:
    """The connection TransactWrite (and the hot path's raw calls) use; created once, reused across
    warm invocations."""
    return Connection(region=settings.region, host=settings.dynamodb_endpoint,
                      max_retry_attempts=TableMeta.max_retry_attempts)

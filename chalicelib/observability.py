"""The structured logger, and DynamoDB cost accounting from botocore's own events."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional

from aws_lambda_powertools import Logger
from botocore import handlers as botocore_handlers

from chalicelib.config import settings

# Not the Chalice app's name: Chalice configures the logger of that name for itself (level ERROR,
# no propagation) unless it already writes to the sys.stdout of the moment, so sharing the name
# would make our lines depend on which of the two was set up first.
logger = Logger(service="mes-appstore-api", level=settings.log_level)


@dataclass
class DynamoDBCall:
    operation: str
    capacity_units: float
    scanned_count: Optional[int] = None
    count: Optional[int] = None


@dataclass
class DynamoDBUsage:
    """What DynamoDB reported for the calls made while this object was current."""

    calls: List[DynamoDBCall] = field(default_factory=list)

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def capacity_units(self) -> float:
        return round(sum(c.capacity_units for c in self.calls), 2)

    def summary(self) -> Dict[str, Any]:
        return {"calls": self.call_count, "capacity_units": self.capacity_units,
                "operations": [c.operation for c in self.calls]}


# Nested blocks each see the calls made inside them (a benchmark around a request, and the request).
_current_usage: ContextVar[tuple] = ContextVar("dynamodb_usage", default=())


def _capacity_of(parsed: Dict[str, Any]) -> float:
    consumed = parsed.get("ConsumedCapacity")
    if isinstance(consumed, dict):
        consumed = [consumed]
    return float(sum(float(c.get("CapacityUnits", 0)) for c in consumed or []))


def _record_dynamodb_call(parsed: Dict[str, Any], model: Any, **_: Any) -> None:
    usages = _current_usage.get()
    if not usages:
        return
    call = DynamoDBCall(operation=model.name, capacity_units=_capacity_of(parsed),
                        scanned_count=parsed.get("ScannedCount"), count=parsed.get("Count"))
    for usage in usages:
        usage.calls.append(call)


# Every botocore session registers BUILTIN_HANDLERS when it is created, so this one hook sees
# the calls of PynamoDB's clients and of any boto3 client alike, without knowing them.
_HOOK = ("after-call.dynamodb", _record_dynamodb_call)
if _HOOK not in botocore_handlers.BUILTIN_HANDLERS:
    botocore_handlers.BUILTIN_HANDLERS.append(_HOOK)


@contextmanager
def dynamodb_usage() -> Iterator[DynamoDBUsage]:
    """Collect the DynamoDB calls made inside the block (per request, per benchmark step)."""
    usage = DynamoDBUsage()
    token = _current_usage.set((*_current_usage.get(), usage))
    try:
        yield usage
    finally:
        _current_usage.reset(token)

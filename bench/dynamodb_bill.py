"""What DynamoDB would bill for the calls a piece of code makes, and how many sequential round
trips they take: from botocore's own events (every client, every thread) and the items' sizes.

moto reports a fixed capacity per call, so the units here are computed from DynamoDB's billing rules:
- item size: attribute names plus values (dynamodb_sizes.item_size);
- reads: 4 KB units, a strongly consistent read one unit, an eventually consistent one half; a
  GetItem (or a BatchGetItem key) bills at least one unit even when the item is absent; a Query
  bills the total size of what it read, rounded up once;
- writes: 1 KB units, at least one per item; each index entry written (local or global, here all
  projecting ALL) bills its own units, sized on the item;
- TransactWriteItems: "two underlying writes of every item" (AWS, Capacity management for
  transactions): 2 units per KB of each item. Two readings are left open by AWS's documentation and
  printed both: whether index entries written by a transaction are doubled too (`indexes x2`), and
  by which size a ConditionCheck bills (the issue's reading: the checked item's size; an emulator
  checked against DynamoDB, dynoxide, bills the key's size: 2 units).
A round trip is a group of calls in flight together: calls that start after every call of the
previous group has ended begin a new one."""
from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from botocore import handlers as botocore_handlers

from bench.dynamodb_sizes import item_size

Item = Dict[str, Any]


@dataclass
class Call:
    operation: str
    params: Dict[str, Any]
    parsed: Dict[str, Any]
    start: float
    end: float


@dataclass
class Bill:
    rcu: float = 0.0
    wcu: float = 0.0
    wcu_indexes_doubled: float = 0.0  # the same, if a transaction's index entries bill twice too
    wcu_checks_by_item: float = 0.0  # the same, if a ConditionCheck bills the checked item's size

    def add_reads(self, units: float) -> None:
        self.rcu += units

    def add_writes(self, units: float, indexes: float = 0.0, transactional: bool = False,
                   check_by_item: Optional[float] = None) -> None:
        factor = 2 if transactional else 1
        self.wcu += factor * units + indexes
        self.wcu_indexes_doubled += factor * (units + indexes)
        self.wcu_checks_by_item += factor * (check_by_item if check_by_item is not None else units) + indexes


@dataclass
class Meter:
    """The DynamoDB calls made while it is active, in any thread."""

    calls: List[Call] = field(default_factory=list)

    def round_trips(self) -> int:
        trips, horizon = 0, -math.inf
        for call in sorted(self.calls, key=lambda c: c.start):
            if call.start >= horizon:
                trips += 1
                horizon = call.end
            else:
                horizon = max(horizon, call.end)
        return trips

    def seconds_in_dynamodb(self) -> float:
        """Wall time during which at least one call was in flight (parallel calls count once)."""
        total, current_start, current_end = 0.0, None, None
        for call in sorted(self.calls, key=lambda c: c.start):
            if current_end is None or call.start > current_end:
                if current_end is not None:
                    total += current_end - current_start
                current_start, current_end = call.start, call.end
            else:
                current_end = max(current_end, call.end)
        if current_end is not None:
            total += current_end - current_start
        return total

    def operations(self) -> str:
        return ", ".join(call.operation for call in sorted(self.calls, key=lambda c: c.start))

    def bill(self, tables: "Tables", stored: Callable[[str, Item], Optional[Item]]) -> Bill:
        """`stored(table, key)` reads an item as it is now (for the size of a ConditionCheck)."""
        bill = Bill()
        for call in self.calls:
            _bill_call(bill, call, tables, stored)
        return bill


class Tables:
    """Key and index attributes of each table, from the app's PynamoDB models."""

    def __init__(self, models) -> None:
        self.keys: Dict[str, Tuple[str, ...]] = {}
        self.indexes: Dict[str, List[Tuple[str, ...]]] = {}
        for model in models:
            schema = model._get_schema()
            table = model.Meta.table_name
            self.keys[table] = tuple(k["AttributeName"] for k in schema["key_schema"])
            self.indexes[table] = [tuple(k["AttributeName"] for k in index["key_schema"])
                                   for index in schema["local_secondary_indexes"] + schema["global_secondary_indexes"]]

    def index_units(self, table: str, item: Item) -> float:
        """The write units of the index entries an item has (its index key attributes present)."""
        return sum(_write_units(item) for names in self.indexes.get(table, ()) if all(n in item for n in names))

    def key_of(self, table: str, item: Item) -> Item:
        return {name: item[name] for name in self.keys[table]}


def _read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


def _write_units(item: Item) -> int:
    return max(1, math.ceil(item_size(item) / 1024))


def _bill_call(bill: Bill, call: Call, tables: Tables, stored) -> None:
    params, parsed, operation = call.params, call.parsed, call.operation
    if operation == "GetItem":
        bill.add_reads(_read_units(item_size(parsed.get("Item") or {}), bool(params.get("ConsistentRead"))))
    elif operation == "BatchGetItem":
        for table, request in params["RequestItems"].items():
            found = {tuple(sorted((n, str(v)) for n, v in tables.key_of(table, item).items())): item
                     for item in parsed.get("Responses", {}).get(table, [])}
            for key in request["Keys"]:
                item = found.get(tuple(sorted((n, str(v)) for n, v in key.items())), {})
                bill.add_reads(_read_units(item_size(item), bool(request.get("ConsistentRead"))))
    elif operation == "Query":
        size = sum(item_size(item) for item in parsed.get("Items", []))
        bill.add_reads(_read_units(size, bool(params.get("ConsistentRead"))))
    elif operation == "PutItem":
        bill.add_writes(_write_units(params["Item"]), tables.index_units(params["TableName"], params["Item"]))
    elif operation in ("UpdateItem", "DeleteItem"):
        item = stored(params["TableName"], params["Key"]) or params["Key"]
        bill.add_writes(_write_units(item), tables.index_units(params["TableName"], item))
    elif operation == "TransactWriteItems":
        for entry in params["TransactItems"]:
            (kind, action), = entry.items()
            table = action["TableName"]
            if kind == "Put":
                bill.add_writes(_write_units(action["Item"]), tables.index_units(table, action["Item"]), True)
            elif kind == "ConditionCheck":
                checked = stored(table, action["Key"]) or action["Key"]
                bill.add_writes(_write_units(action["Key"]), 0, True, check_by_item=_write_units(checked))
            else:  # Update, Delete: sized on the item as it is (the larger side, for an update)
                item = stored(table, action["Key"]) or action["Key"]
                bill.add_writes(_write_units(item), tables.index_units(table, item), True)


_active: List[Meter] = []
_lock = threading.Lock()


def _params(params: Dict[str, Any], context: Dict[str, Any], **_: Any) -> None:
    context["bill.params"] = params


def _started(context: Dict[str, Any], **_: Any) -> None:
    context["bill.start"] = time.perf_counter()


def _ended(parsed: Dict[str, Any], model: Any, context: Dict[str, Any], **_: Any) -> None:
    if not _active:
        return
    call = Call(model.name, context.get("bill.params", {}), parsed, context.get("bill.start", time.perf_counter()),
                time.perf_counter())
    with _lock:
        for meter in _active:
            meter.calls.append(call)


for _hook in (("before-parameter-build.dynamodb", _params), ("before-call.dynamodb", _started),
              ("after-call.dynamodb", _ended)):
    if _hook not in botocore_handlers.BUILTIN_HANDLERS:
        botocore_handlers.BUILTIN_HANDLERS.append(_hook)


@contextmanager
def metered() -> Iterator[Meter]:
    """Every DynamoDB call made in the block, in any thread (botocore sessions made from now on)."""
    meter = Meter()
    with _lock:
        _active.append(meter)
    try:
        yield meter
    finally:
        with _lock:
            _active.remove(meter)

"""Per-app request quotas: a rate and a burst for each referenced app, on the FHIR API and on the
token endpoint, so that one app cannot starve the others
(docs/decisions/0013-per-app-quotas.md).

Two layers, neither a counter written on every call:
- in each container, a token bucket per app (the app's rate, refilled continuously, holding at
  most its burst): exact for the calls that container serves;
- across containers, a count per app and per 10-second window in the grants table, which each
  container adds its own calls to in batches (one UpdateItem per `sync` calls, or sooner as the
  window's budget runs out) and which answers with the total so far. A container refuses once the
  total it knows reaches the window's budget. The budget can be overrun by at most what the other
  containers admitted since their last report: each holds back fewer than `sync` calls.

A refusal is 429 with Retry-After (an OperationOutcome on /fhir, an OAuth error on /oauth). Every
answer to a charged call carries the app's policy and what is left of it, as the IETF's RateLimit
header fields say (draft-ietf-httpapi-ratelimit-headers-10)."""
from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import NumberAttribute, UnicodeSetAttribute
from pynamodb.exceptions import PynamoDBException

from chalicelib import edge
from chalicelib.errors import TooManyRequests
from chalicelib.grants import GrantItem
from chalicelib.observability import logger

WINDOW_SECONDS = 10
_SYNC_SHARE = 0.02  # a container reports its calls after 2 % of a window's budget, at most


@dataclass(frozen=True)
class Quota:
    """Requests a second an app may make, sustained, and how many at once."""

    rate: int
    burst: int

    @property
    def window_budget(self) -> int:
        """Calls allowed in one window across all containers: a full bucket, then the rate."""
        return self.rate * WINDOW_SECONDS + self.burst

    @classmethod
    def of(cls, value: Any) -> Optional["Quota"]:
        """A quota from its JSON form ({"rate", "burst"}), None when absent."""
        if not isinstance(value, Mapping):
            return None
        return cls(int(value["rate"]), int(value["burst"]))

    def as_json(self) -> Dict[str, int]:
        return {"rate": self.rate, "burst": self.burst}


class QuotaWindowItem(GrantItem, discriminator="quota"):
    """The calls counted for one app, one purpose and one window (`quota#<purpose>#<app>#<window>`),
    and the containers that reported them; removed by the table's TTL a minute after the window."""

    calls = NumberAttribute(default=0)
    containers = UnicodeSetAttribute(null=True)


def report_calls(key: str, calls: int, expires_at: float, container: str) -> Tuple[int, int]:
    """Add `calls` made in `container` to a window's count (no condition, never a transaction:
    concurrent reports queue on the item, they cannot cancel each other). Returns the window's
    total and the number of containers that reported in it."""
    item = QuotaWindowItem(key)
    item.update(actions=[QuotaWindowItem.calls.add(calls), QuotaWindowItem.containers.add({container}),
                         QuotaWindowItem.kind.set(QuotaWindowItem),
                         QuotaWindowItem.expires_at.set(datetime.fromtimestamp(expires_at, tz=timezone.utc))])
    return int(item.calls), len(item.containers or ())


@dataclass
class _Usage:
    """What one container knows of one app's use of one purpose."""

    quota: Quota
    tokens: float
    refilled_at: float
    window: int = -1
    known_total: int = 0  # the window's total at this container's last report
    unreported: int = 0  # calls admitted here since that report
    containers: int = 1  # how many containers reported in this window (or the last), as last heard


@dataclass
class Quotas:
    """The quotas in force, and the calls each app made against them, as one container sees them."""

    default: Quota
    configured: Mapping[str, Quota] = field(default_factory=dict)  # operators' overrides win
    report: Callable[[str, int, float, str], Tuple[int, int]] = report_calls
    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._usage: Dict[Tuple[str, str], _Usage] = {}
        self._learned: Dict[str, Quota] = {}
        self._lock = threading.Lock()  # one request at a time in Lambda; tests call from threads
        self._name = uuid.uuid4().hex[:12]  # this container, in the window items it reports to

    def quota_of(self, app_id: str) -> Quota:
        """Configuration first, then the commission's decision (as last read), then the default."""
        if app_id in self.configured:
            return self.configured[app_id]
        return self._learned.get(app_id, self.default)

    def learn(self, app_id: str, decided: Optional[Quota]) -> None:
        """The quota the commission decided for an app (None: the default), as read just now with
        the app's status item or head: by the FHIR gate on every call, and on every token issued.
        A container applies the default to an app only until it first reads one of those."""
        if decided is None:
            self._learned.pop(app_id, None)
        else:
            self._learned[app_id] = decided

    def charge(self, app_id: str, purpose: str) -> None:
        """Count one call of `app_id` for `purpose` ("fhir", "token"), or refuse it with 429. The
        answer, refused or not, carries the RateLimit header fields."""
        quota = self.quota_of(app_id)
        with self._lock:
            usage = self._usage_of(app_id, purpose, quota)
            wait = self._refusal(usage, quota)
            if wait is None:
                usage.tokens -= 1
                usage.unreported += 1
            report = self._due_report(usage, quota, app_id, purpose)
        if report is not None:
            self._send(usage, *report)
        headers = self._headers(purpose, usage, quota, wait)
        if wait is not None:
            raise TooManyRequests(f"This app is over its quota of {quota.rate} requests a second "
                                  f"(burst {quota.burst}) for this API; retry after {wait} s.",
                                  headers={"Retry-After": str(wait), **headers})
        edge.add_response_headers(headers)

    # -- one container's view ---------------------------------------------------------------

    def _usage_of(self, app_id: str, purpose: str, quota: Quota) -> _Usage:
        now = self.monotonic()
        usage = self._usage.get((app_id, purpose))
        if usage is None:
            usage = self._usage[(app_id, purpose)] = _Usage(quota, tokens=float(quota.burst), refilled_at=now)
        elif usage.quota != quota:  # a new quota starts with a full bucket of its own
            usage.quota, usage.tokens, usage.refilled_at = quota, float(quota.burst), now
        usage.tokens = min(float(quota.burst), usage.tokens + max(0.0, now - usage.refilled_at) * quota.rate)
        usage.refilled_at = now
        window = int(self.wall() // WINDOW_SECONDS)
        if usage.window != window:  # a new window: what was not reported of the last one is dropped;
            usage.window, usage.known_total, usage.unreported = window, 0, 0  # the fleet stays as known
        return usage

    def _refusal(self, usage: _Usage, quota: Quota) -> Optional[int]:
        """Seconds to wait before the next call may pass, or None if this one passes."""
        if usage.known_total + usage.unreported >= quota.window_budget:
            return max(1, math.ceil((usage.window + 1) * WINDOW_SECONDS - self.wall()))
        if usage.tokens < 1:
            return max(1, math.ceil((1 - usage.tokens) / quota.rate))
        return None

    def _due_report(self, usage: _Usage, quota: Quota, app_id: str, purpose: str
                    ) -> Optional[Tuple[str, int, float]]:
        """The report to send now, if one is due: after 2 % of the window's budget, and sooner as
        what is left of it shrinks, shared among the containers known to serve the app, so that
        together they hold back at most half of what is left."""
        left = quota.window_budget - usage.known_total
        sync = max(1, min(int(quota.window_budget * _SYNC_SHARE), left // (2 * usage.containers)))
        if usage.unreported < sync:
            return None
        calls, usage.unreported = usage.unreported, 0
        window_end = (usage.window + 1) * WINDOW_SECONDS
        return f"quota#{purpose}#{app_id}#{usage.window}", calls, window_end + 60

    def _send(self, usage: _Usage, key: str, calls: int, expires_at: float) -> None:
        """Report; a failed report is logged and the calls counted locally only (a quota must
        never be the reason a legitimate call fails)."""
        try:
            total, containers = self.report(key, calls, expires_at, self._name)
        except (PynamoDBException, ClientError, BotoCoreError) as error:
            logger.warning("quota report failed", extra={"key": key, "error": repr(error)[:300]})
            return
        with self._lock:
            if key.endswith(f"#{usage.window}"):
                usage.known_total = max(usage.known_total, total)
                usage.containers = max(usage.containers, containers)

    def _headers(self, purpose: str, usage: _Usage, quota: Quota, wait: Optional[int]) -> Dict[str, str]:
        remaining = max(0, min(int(usage.tokens), quota.window_budget - usage.known_total - usage.unreported))
        reset = wait if wait is not None else max(1, math.ceil((usage.window + 1) * WINDOW_SECONDS - self.wall()))
        return {"RateLimit-Policy": f'"{purpose}";q={quota.window_budget};w={WINDOW_SECONDS}',
                "RateLimit": f'"{purpose}";r={remaining};t={reset}'}


def quotas_for(settings: Any) -> Quotas:
    """The quotas of this deployment: the default and the operators' overrides from settings."""
    default = Quota(settings.app_rate_limit, settings.app_burst_limit)
    configured = {app_id: Quota.of(value) for app_id, value in settings.app_quotas.items()}
    return Quotas(default, {app_id: quota for app_id, quota in configured.items() if quota is not None})

"""Per-app quotas as containers see them: a token bucket in each, and a count per window shared
through the grants table, reported in batches (chalicelib/oauth/quotas.py)."""
import pytest
from botocore.exceptions import ClientError

from chalicelib import edge
from chalicelib.errors import TooManyRequests
from chalicelib.oauth.quotas import WINDOW_SECONDS, Quota, Quotas, QuotaWindowItem

START = 1_800_000_000.0  # a window boundary: 10-second windows start at multiples of 10


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


DEFAULT = Quota(5, 10)


def container(default=DEFAULT, configured=None, monotonic=None, wall=None, **options):
    return Quotas(default, configured or {}, monotonic=monotonic or Clock(0.0), wall=wall or Clock(START), **options)


def admitted(quotas, app_id, calls, purpose="fhir"):
    passed = 0
    for _ in range(calls):
        try:
            quotas.charge(app_id, purpose)
            passed += 1
        except TooManyRequests:
            pass
    return passed


def test_a_burst_passes_then_calls_are_refused_until_the_bucket_refills(aws):
    monotonic = Clock(0.0)
    quotas = container(Quota(5, 10), monotonic=monotonic)
    assert admitted(quotas, "app-a", 10) == 10
    with pytest.raises(TooManyRequests) as refused:
        quotas.charge("app-a", "fhir")
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "1"
    assert refused.value.headers["RateLimit"] == '"fhir";r=0;t=1'
    monotonic.now += 1.0  # five more a second
    assert admitted(quotas, "app-a", 10) == 5


def test_one_app_over_its_quota_leaves_the_others_theirs(aws):
    quotas = container(Quota(5, 10))
    assert admitted(quotas, "app-a", 50) == 10
    assert admitted(quotas, "app-b", 10) == 10
    assert admitted(quotas, "app-a", 1, purpose="token") == 1  # the token endpoint counts apart


def test_containers_share_one_budget_per_window_through_the_table(aws):
    """Two containers serving one app, each with a full bucket all the time: alone, each would let
    everything through; together they stop near the window's budget (rate x 10 s + burst)."""
    quota = Quota(20, 20)  # 220 calls a window
    wall, first_clock, second_clock = Clock(START), Clock(0.0), Clock(0.0)
    first = container(quota, monotonic=first_clock, wall=wall)
    second = container(quota, monotonic=second_clock, wall=wall)
    passed = 0
    for _ in range(400):
        first_clock.now += 1.0  # buckets always full: only the shared count can refuse
        second_clock.now += 1.0
        passed += admitted(first, "app-a", 1) + admitted(second, "app-a", 1)
    sync = int(quota.window_budget * 0.02)
    assert quota.window_budget <= passed <= quota.window_budget + 2 * sync
    count = QuotaWindowItem.get(f"quota#fhir#app-a#{int(START // WINDOW_SECONDS)}", consistent_read=True)
    assert count.calls >= quota.window_budget
    wall.now += WINDOW_SECONDS  # the next window starts afresh
    assert admitted(first, "app-a", 1) == 1


def test_reports_are_batched_not_one_write_per_call(aws):
    reports = []
    quotas = container(Quota(100, 200), monotonic=Clock(0.0),
                       report=lambda key, calls, expires, container: (reports.append(calls) or sum(reports), 1))
    assert admitted(quotas, "app-a", 200) == 200
    assert len(reports) <= 200 // int(Quota(100, 200).window_budget * 0.02) + 1
    assert sum(reports) <= 200


def test_a_failed_report_never_refuses_a_call(aws, caplog):
    def throttled(key, calls, expires, container):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                          "UpdateItem")
    quotas = container(Quota(1, 100), report=throttled)
    assert admitted(quotas, "app-a", 100) == 100  # the local bucket still holds
    assert admitted(quotas, "app-a", 1) == 0
    assert "quota report failed" in caplog.text


def test_configuration_wins_over_the_commission_which_wins_over_the_default():
    quotas = container(Quota(5, 10), configured={"app-c": Quota(1, 1)})
    quotas.learn("app-b", Quota(500, 1000))
    quotas.learn("app-c", Quota(500, 1000))
    assert quotas.quota_of("app-a") == Quota(5, 10)
    assert quotas.quota_of("app-b") == Quota(500, 1000)
    assert quotas.quota_of("app-c") == Quota(1, 1)
    quotas.learn("app-b", Quota(50, 100))  # a later decision lowers it
    assert quotas.quota_of("app-b") == Quota(50, 100)
    quotas.learn("app-b", None)  # none decided: the default
    assert quotas.quota_of("app-b") == Quota(5, 10)


def test_every_answer_tells_the_app_its_policy_and_what_is_left(aws, monkeypatch):
    seen = {}
    monkeypatch.setattr(edge, "add_response_headers", seen.update)
    container(Quota(5, 10)).charge("app-a", "fhir")
    assert seen["RateLimit-Policy"] == '"fhir";q=60;w=10'
    assert seen["RateLimit"] == '"fhir";r=9;t=10'


def test_a_new_quota_takes_effect_with_a_full_bucket(aws):
    quotas = container(Quota(1, 1))
    assert admitted(quotas, "app-a", 5) == 1
    quotas.learn("app-a", Quota(100, 50))  # the commission raised it
    assert admitted(quotas, "app-a", 60) == 50

"""Per-app quotas benchmark (decision 0013): several containers serve one app at once, as Lambda
spreads its calls, against moto's DynamoDB. For each case: calls admitted per 10-second window
against the window's budget, and the count reports (UpdateItem) written per 1,000 calls.

Time is simulated (each container's clocks advance by 5 ms steps), so the figures do not depend
on this machine's speed; the reports really go to DynamoDB (moto, in process).

Run with `make bench`."""
from __future__ import annotations

import os
import random
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
os.environ.update({"STAGE": "test", "TABLE_PREFIX": "mes-bench-", "AWS_ACCESS_KEY_ID": "bench",
                   "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-west-3"})
os.environ.pop("DYNAMODB_ENDPOINT", None)

START = 1_800_000_000.0  # a window boundary
STEP = 0.005  # seconds
WINDOWS = 3
CASES = [  # (label, quota rate, burst, containers, calls a second sent by the app)
    ("default quota, at its rate", 50, 100, 10, 50),
    ("default quota, 10 times its rate", 50, 100, 10, 500),
    ("popular app, at its rate", 1000, 2000, 50, 1000),
    ("popular app, 10 times its rate", 1000, 2000, 50, 10_000),
]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def run(app_id: str, rate: int, burst: int, containers: int, sent: int, seed: int):
    from chalicelib.errors import TooManyRequests
    from chalicelib.oauth.quotas import WINDOW_SECONDS, Quota, Quotas, report_calls

    reports = []

    def counted_report(key, calls, expires, container):
        reports.append(calls)
        return report_calls(key, calls, expires, container)

    wall, monotonic = Clock(START), Clock(0.0)
    fleet = [Quotas(Quota(rate, burst), {}, report=counted_report, monotonic=monotonic, wall=wall)
             for _ in range(containers)]
    chooser = random.Random(seed)
    admitted, refused, owed = [0] * WINDOWS, 0, 0.0
    for _ in range(int(WINDOWS * WINDOW_SECONDS / STEP)):
        owed += sent * STEP
        window = int((wall.now - START) // WINDOW_SECONDS)
        while owed >= 1:
            owed -= 1
            try:
                fleet[chooser.randrange(containers)].charge(app_id, "fhir")
                admitted[window] += 1
            except TooManyRequests:
                refused += 1
        wall.now += STEP
        monotonic.now += STEP
    calls = sum(admitted) + refused
    return Quota(rate, burst).window_budget, admitted, calls, len(reports)


def main() -> None:
    from moto import mock_aws

    print("Per-app quotas, containers sharing one count per window (simulated time, moto's DynamoDB):")
    print("| case | containers | budget per 10 s window | admitted per window | reports per 1,000 calls |")
    print("|---|---|---|---|---|")
    with mock_aws():
        from chalicelib.storage import ensure_tables
        ensure_tables()
        for number, (label, rate, burst, containers, sent) in enumerate(CASES):
            budget, admitted, calls, reports = run(f"bench-app-{number}", rate, burst, containers, sent, seed=number)
            shares = ", ".join(f"{count:,} ({count / budget:.0%})" for count in admitted)
            print(f"| {label} ({sent:,}/s) | {containers} | {budget:,} | {shares} | {1000 * reports / calls:.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()

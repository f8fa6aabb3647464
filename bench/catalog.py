"""Catalogue benchmark: what one page costs with 100 and with 10,000 published listings, and what
our code adds to the import time of app.py.

Run with `make bench`. DynamoDB is moto's in-process mock: its wall time grows with table size and
is not the measure of the design; the DynamoDB calls per page, the entries each call read
(ScannedCount) and the capacity are. moto reports a fixed ConsumedCapacity per call, so the table
also gives the read units DynamoDB would bill, from the size of the entries read (4 KB units,
eventually consistent reads at half a unit).
"""
from __future__ import annotations

import functools
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
from bench.dynamodb_sizes import item_size  # noqa: E402
os.environ.update({"STAGE": "bench", "TABLE_PREFIX": "mes-bench-", "AWS_ACCESS_KEY_ID": "bench",
                   "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-west-3"})
os.environ.pop("DYNAMODB_ENDPOINT", None)

SCENARIOS = [
    ("all, by name", {}),
    ("all, by écoscore", {"sort": "ecoscore"}),
    ("category", {"category": "medication"}),
    ("min écoscore B", {"min_ecoscore": "B"}),
    ("data + min letter, by écoscore", {"data": "documents.read", "min_ecoscore": "C", "sort": "ecoscore"}),
    ("category + data (filtered)", {"category": "parenthood", "data": "documents.read"}),
    ("free text (filtered)", {"q": "rendez-vous"}),
]
PAGES = 3  # the first page and two more, following `next`


def measure_catalogue(size: int) -> list:
    from moto import mock_aws

    with mock_aws():
        from chalicelib.catalog.demo import import_demos, synthetic_demos
        from chalicelib.catalog.models import CatalogEntry
        from chalicelib.catalog.query import CatalogQuery
        from chalicelib.catalog.referential import load_referential
        from chalicelib.catalog.service import CatalogService
        from chalicelib.observability import dynamodb_usage
        from chalicelib.storage import ensure_tables

        ensure_tables()
        service = CatalogService(load_referential())
        started = time.perf_counter()
        import_demos(service, synthetic_demos(size, service))
        print(f"  seeded {size} published listings in {time.perf_counter() - started:.1f} s", flush=True)
        sample = next(CatalogEntry.query("all", limit=1))
        entry_bytes = item_size(sample.serialize())

        rows = []
        for label, params in SCENARIOS:
            cursor, calls, scanned, returned, reported = None, [], [], [], []
            started = time.perf_counter()
            for _ in range(PAGES):
                query = CatalogQuery.parse({**params, "limit": "20", **({"cursor": cursor} if cursor else {})},
                                           service.referential)
                with dynamodb_usage() as usage:
                    page = service.list_apps(query)
                calls.append(usage.call_count)
                scanned.append(sum(c.scanned_count or 0 for c in usage.calls))
                returned.append(len(page.items))
                reported.append(usage.capacity_units)
                cursor = page.next_cursor
                if not cursor:
                    break
            elapsed_ms = (time.perf_counter() - started) * 1000 / len(calls)
            rcu = [math.ceil(n * entry_bytes / 4096) * 0.5 for n in scanned]
            rows.append((size, label, max(calls), max(scanned), returned[0], max(reported), max(rcu), elapsed_ms))
        from chalicelib.catalog.models import HEAD_VERSION, AppHead
        head_bytes = item_size(AppHead.get(sample.app_id, HEAD_VERSION).serialize())
        views = []
        # moto's Query takes time in proportion to the whole table (seconds at 10,000 apps): without
        # a cache, the first 20 views (the same mix) are measured and counted fifty times; with it,
        # the 1,000 views are taken within one 30 s period, as a container serves them on DynamoDB
        # (its clock stands still here, or moto's slowness would spread them over several periods).
        for label, cache_seconds, measured in (("no cache (20 views measured, x50)", 0, 20),
                                               ("warm: one container, 30 s cache", 30, 1000)):
            viewer = CatalogService(service.referential, cache_seconds=cache_seconds, timer=lambda: 0.0)
            mix = view_mix(viewer)[:measured]
            if cache_seconds:
                viewer.forget()  # the mix read the first page to know its cursor and apps: start cold
            with dynamodb_usage() as usage:
                for view in mix:
                    view()
            usage.calls *= 1000 // measured
            queries = [c for c in usage.calls if c.operation == "Query"]
            gets = [c for c in usage.calls if c.operation == "GetItem"]
            rcu = (sum(math.ceil((c.scanned_count or 0) * entry_bytes / 4096) * 0.5 for c in queries)
                   + len(gets) * math.ceil(head_bytes / 4096) * 0.5)
            views.append((size, label, len(queries), len(gets), rcu))
        return rows, views


def view_mix(service) -> list:
    """1,000 catalogue views as a visitor makes them: mostly the first page, some sorted by
    écoscore, by category, the next page, a search, and app pages."""
    from chalicelib.catalog.query import CatalogQuery

    def page(**params):
        return lambda: service.list_apps(CatalogQuery.parse({"limit": "20", **params}, service.referential))

    first = service.list_apps(CatalogQuery.parse({"limit": "20"}, service.referential))
    apps = [card["app_id"] for card in first.items]
    categories = list(service.referential.categories)
    views = []
    for number in range(1000):
        share = number % 20
        if share < 12:
            views.append(page())
        elif share < 14:
            views.append(page(sort="ecoscore"))
        elif share < 16:
            views.append(page(category=categories[number % len(categories)]))
        elif share == 16 and first.next_cursor:
            views.append(page(cursor=first.next_cursor))
        elif share == 17:
            views.append(page(q=["diabète", "rendez-vous", "sommeil"][number % 3]))
        else:
            app_id = apps[(number // 20) % len(apps)]
            views.append(functools.partial(service.get_app, app_id))
    return views


def import_time(statement: str) -> float:
    """CPU seconds one fresh interpreter spends importing: steadier than wall time on a busy machine."""
    output = subprocess.check_output(
        [sys.executable, "-c", f"import time; t = time.process_time(); {statement}; "
                               "print(time.process_time() - t)"], cwd=PROJECT)
    return float(output.decode().strip().splitlines()[-1])


def measure_imports(runs: int = 9) -> tuple:
    # Our modules compiled to bytecode first, as the dependencies are and as `make package` ships
    # them: otherwise our share would be mostly the compiler's work, which Lambda never does.
    subprocess.check_call([sys.executable, "-m", "compileall", "-q", "app.py", "chalicelib"], cwd=PROJECT,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    site = "site-packages"
    listing = subprocess.check_output(
        [sys.executable, "-c", "import sys, app; print('\\n'.join(sorted(n for n, m in sys.modules.items() "
                               f"if '{site}' in (getattr(m, '__file__', None) or ''))))"],
        cwd=PROJECT).decode().split()
    dependencies = "; ".join(f"import {name}" for name in listing if not name.startswith("_"))
    bare, full = [], []
    for _ in range(runs):  # interleaved, so that a burst of load hits both alike
        bare.append(import_time(dependencies))
        full.append(import_time("import app"))
    return statistics.median(bare), statistics.median(full)


def main() -> None:
    print("Catalogue pages (limit 20; per page, the worst of the first three pages of each query):")
    rows, views = [], []
    for size in (100, 10_000):
        measured, viewed = measure_catalogue(size)
        rows, views = rows + measured, views + viewed
    header = ("listings", "query", "calls/page", "entries read/page", "apps on page 1", "moto CU/page",
              "est. RCU/page", "moto ms/page")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for size, label, calls, scanned, returned, reported, rcu, elapsed in rows:
        print(f"| {size} | {label} | {calls} | {scanned} | {returned} | {reported} | {rcu} | {elapsed:.0f} |")
    print("\nDynamoDB reads per 1,000 catalogue views (60 % the first page, the rest sorted by écoscore, by "
          "category, the next page, a search, app pages), in one container (issue 12):")
    print("| listings | container | Query calls | GetItem calls | est. RCU |\n|---|---|---|---|---|")
    for size, label, queries, gets, rcu in views:
        print(f"| {size} | {label} | {queries} | {gets} | {rcu:g} |")
    print("A warm container reads each distinct page and listing once per period: K containers read at most K "
          "times that per period, whatever the number of views.")
    bare, full = measure_imports()
    print(f"\nImport time (CPU, median of 9 fresh interpreters): dependencies alone {bare * 1000:.0f} ms, "
          f"app.py {full * 1000:.0f} ms: our code adds {(full - bare) / bare * 100:.1f} % (target: at most 15 %).")


if __name__ == "__main__":
    main()

"""Demo listings from catalog/demo, published through the same path as a commission decision."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List, Mapping

from chalicelib.catalog.compliance import track_of
from chalicelib.catalog.service import CatalogService, ReviewOutcome


def review_results(listing: Mapping[str, Any], overrides: Mapping[str, str],
                   service: CatalogService) -> Dict[str, Dict[str, Any]]:
    """What a reviewer would record: a criterion with evidence passes unless the demo file says
    otherwise; ETH-32 is proven by the écoscore report."""
    results = {}
    for criterion in service.referential.criteria_for(track_of(listing)):
        criterion_id = criterion["id"]
        proven = criterion_id in listing["evidence"] or (criterion_id == "ETH-32" and listing.get("ecoscore"))
        result = overrides.get(criterion_id, "pass" if proven else "not_applicable")
        results[criterion_id] = {"result": result, "note": "Démonstration / demo"}
    return results


def demo_listing_files(directory: Path) -> List[Path]:
    return sorted((directory / "demo" / "listings").glob("*.json"))


def seed_demo_catalog(service: CatalogService) -> List[str]:
    """Publish every demo listing into new tables (`make run`, tests); returns their app ids.
    Batch writes rather than a transaction each: an app has some forty catalogue entries (one per
    word start, see catalog/query.py), and moto copies its tables at every transaction."""
    demos = [json.loads(path.read_text(encoding="utf-8")) for path in demo_listing_files(service.referential.directory)]
    import_demos(service, demos)
    return [demo["app_id"] for demo in demos]


def synthetic_demos(count: int, service: CatalogService) -> List[Dict[str, Any]]:
    """`count` varied demo files derived from the real ones (for benchmarks and paging tests):
    names, categories, scopes and measurements differ from one to the next."""
    templates = [json.loads(p.read_text(encoding="utf-8"))
                 for p in demo_listing_files(service.referential.directory)]
    categories = list(service.referential.categories)
    demos = []
    for number in range(count):
        demo = json.loads(json.dumps(templates[number % len(templates)]))
        listing = demo["listing"]
        demo["app_id"] = f"synthetic-{number:05d}"
        listing["name"] = f"{listing['name'][:40]} {number:05d}"
        listing["category"] = categories[(number * 7) % len(categories)]
        factor = 0.25 + (number * 37 % 100) / 25  # spreads scores over every letter
        for step in listing["ecoscore"]["journey"]:
            step["energy_mwh"] = round(step["energy_mwh"] * factor, 3)
            step["duration_s"] = round(step["duration_s"] * factor, 3)
            step["data_kb"] = round(step["data_kb"] * factor, 3)
        demos.append(demo)
    return demos


def _outcome(demo: Mapping[str, Any], service: CatalogService) -> ReviewOutcome:
    listing, review = demo["listing"], demo["review"]
    return ReviewOutcome(opinion=review["opinion"], approved_scopes=review["approved_scopes"],
                         results=review_results(listing, review.get("results", {}), service),
                         period_years=review["period_years"])


def _start(demo: Mapping[str, Any], service: CatalogService):
    return service.clock() - timedelta(days=demo["review"]["published_days_ago"])


def publish_demo(service: CatalogService, demo: Mapping[str, Any]) -> None:
    """Publish one demo through the same transaction as a commission decision."""
    service.publish(demo["app_id"], 1, demo["listing"], _outcome(demo, service), _start(demo, service))


def import_demos(service: CatalogService, demos: List[Mapping[str, Any]]) -> int:
    """Bulk-load many demos into empty tables (benchmarks, paging tests)."""
    return service.import_published(
        (demo["app_id"], 1, demo["listing"], _outcome(demo, service), _start(demo, service))
        for demo in demos)

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
    """Publish every demo listing; returns their app ids. Idempotent: re-publishing replaces."""
    published = []
    for path in demo_listing_files(service.referential.directory):
        demo = json.loads(path.read_text(encoding="utf-8"))
        listing, review = demo["listing"], demo["review"]
        outcome = ReviewOutcome(opinion=review["opinion"], approved_scopes=review["approved_scopes"],
                                results=review_results(listing, review.get("results", {}), service),
                                period_years=review["period_years"])
        start = service.clock() - timedelta(days=review["published_days_ago"])
        service.publish(demo["app_id"], 1, listing, outcome, listing["publisher"]["siret"], start=start)
        published.append(demo["app_id"])
    return published

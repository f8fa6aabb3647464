"""Per-family compliance summary of a listing from the commission's per-criterion results."""
from __future__ import annotations

from typing import Any, Dict, Mapping

from chalicelib.catalog.referential import TRACK_DATA_EXCHANGE, TRACK_SIMPLE, Referential

RESULTS = ("pass", "fail", "not_applicable")


def track_of(listing: Mapping[str, Any]) -> str:
    """A listing that requests data scopes exchanges data with the record; otherwise it is listed only."""
    return TRACK_DATA_EXCHANGE if listing.get("scopes") else TRACK_SIMPLE


def compliance_summary(results: Mapping[str, Mapping[str, Any]], track: str,
                       referential: Referential) -> Dict[str, Any]:
    """Status per family: compliant when every applicable criterion passed, with reservations when
    only optional criteria failed, not compliant when a mandatory one failed or has no result."""
    families = []
    for family_id, family in referential.families.items():
        rows, counts = [], {"pass": 0, "fail": 0, "not_applicable": 0}
        mandatory_missed = False
        for criterion in referential.criteria_for(track):
            if criterion["family"] != family_id:
                continue
            result = results.get(criterion["id"], {}).get("result")
            if result in counts:
                counts[result] += 1
            if criterion["mandatory"] and result != "pass":
                mandatory_missed = True
            rows.append({"id": criterion["id"], "title": criterion["title"],
                         "mandatory": criterion["mandatory"], "result": result or "not_assessed"})
        status = ("not_compliant" if mandatory_missed
                  else "compliant_with_reservations" if counts["fail"] else "compliant")
        families.append({"id": family_id, "label": family["label"], "status": status,
                         "passed": counts["pass"], "failed": counts["fail"],
                         "not_applicable": counts["not_applicable"], "criteria": rows})
    statuses = {f["status"] for f in families}
    overall = ("not_compliant" if "not_compliant" in statuses
               else "compliant_with_reservations" if "compliant_with_reservations" in statuses
               else "compliant")
    return {"track": track, "status": overall, "families": families}

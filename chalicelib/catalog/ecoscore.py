"""The écoscore: a publisher's journey measurement turned into a score, a letter and a footprint."""
from __future__ import annotations

from itertools import pairwise

from typing import Any, Dict, List, Sequence

from chalicelib.errors import ValidationFailed

# Measurement field of a journey step for each metric of the method.
_METRIC_FIELDS = {"energy": "energy_mwh", "performance": "duration_s", "data": "data_kb"}


def interpolate(value: float, breakpoints: Sequence[Sequence[float]]) -> float:
    """Sub-score of a value: linear between (value, score) breakpoints, flat beyond the ends."""
    first_value, first_score = breakpoints[0]
    if value <= first_value:
        return float(first_score)
    for (low_value, low_score), (high_value, high_score) in pairwise(breakpoints):
        if value <= high_value:
            fraction = (value - low_value) / (high_value - low_value)
            return low_score + fraction * (high_score - low_score)
    return float(breakpoints[-1][1])


def letter_for(score: float, method: Dict[str, Any]) -> str:
    for band in method["letters"]:
        if score >= band["min_score"]:
            return band["letter"]
    return method["letters"][-1]["letter"]


def _device(method: Dict[str, Any], device_class: str) -> Dict[str, Any]:
    for device in method["footprint"]["devices"]:
        if device["id"] == device_class:
            return device
    known = ", ".join(d["id"] for d in method["footprint"]["devices"])
    raise ValidationFailed(f"Unknown device class '{device_class}'.",
                           [{"pointer": "/ecoscore/device_class", "criterion": "ETH-32",
                             "message": f"must be one of: {known}"}])


def _step_footprint(step: Dict[str, Any], method: Dict[str, Any], device: Dict[str, Any]) -> Dict[str, float]:
    footprint = method["footprint"]
    electricity = footprint["electricity"]
    device_kwh = step["energy_mwh"] / 1_000_000
    network_kwh = step["data_kb"] / 1_000_000 * footprint["network_kwh_per_gb"]["value"]
    kwh = device_kwh + network_kwh
    life_seconds = device["lifetime_years"] * 365 * device["daily_use_hours"] * 3600
    share = step["duration_s"] / life_seconds
    making = device["manufacturing"]
    return {
        "co2e_g": kwh * electricity["co2e_g_per_kwh"] + share * making["co2e_kg"] * 1000,
        "water_l": kwh * electricity["water_l_per_kwh"] + share * making["water_m3"] * 1000,
        "land_m2a": kwh * electricity["land_m2a_per_kwh"] + share * making["land_m2a"],
        "usage_co2e_g": kwh * electricity["co2e_g_per_kwh"],
        "manufacturing_co2e_g": share * making["co2e_kg"] * 1000,
    }


def _sig(value: float, digits: int = 4) -> float:
    """Round to significant digits: footprints span many orders of magnitude."""
    return float(f"{value:.{digits}g}")


def compute_ecoscore(report: Dict[str, Any], method: Dict[str, Any]) -> Dict[str, Any]:
    """Score out of 100, letter and footprint of a journey report, with the full breakdown.

    Deterministic: the same report and method always give the same result, and every
    intermediate figure is returned so that anyone can recompute it.
    """
    journey: List[Dict[str, Any]] = report.get("journey") or []
    if not journey:
        raise ValidationFailed("The écoscore journey has no step.",
                               [{"pointer": "/ecoscore/journey", "criterion": "ETH-32",
                                 "message": "at least one measured step is required"}])
    device = _device(method, report["device_class"])
    total_weight = sum(method["weights"].values())
    metrics = []
    for metric_id, definition in method["metrics"].items():
        total = sum(float(step[_METRIC_FIELDS[metric_id]]) for step in journey)
        per_step = total / len(journey)
        sub_score = interpolate(per_step, definition["breakpoints"])
        weight = method["weights"][metric_id] / total_weight
        metrics.append({
            "id": metric_id, "label": definition["label"], "unit": definition["unit"],
            "total": round(total, 3), "per_step": round(per_step, 3),
            "breakpoints": definition["breakpoints"], "sub_score": round(sub_score, 2),
            "weight": round(weight, 4), "contribution": round(sub_score * weight, 2),
        })
    score = round(sum(m["sub_score"] * method["weights"][m["id"]] for m in metrics) / total_weight, 1)
    steps, totals = [], {"co2e_g": 0.0, "water_l": 0.0, "land_m2a": 0.0,
                         "usage_co2e_g": 0.0, "manufacturing_co2e_g": 0.0}
    for step in journey:
        impact = _step_footprint(step, method, device)
        for key in totals:
            totals[key] += impact[key]
        steps.append({"name": step["name"], "duration_s": step["duration_s"], "data_kb": step["data_kb"],
                      "energy_mwh": step["energy_mwh"], "co2e_g": _sig(impact["co2e_g"])})
    return {
        "method_version": method["version"],
        "device_class": device["id"],
        "device_label": device["label"],
        "score": score,
        "letter": letter_for(score, method),
        "metrics": metrics,
        "steps": steps,
        "footprint": {
            "per_journey": {"co2e_g": _sig(totals["co2e_g"]), "water_l": _sig(totals["water_l"]),
                            "land_m2a": _sig(totals["land_m2a"])},
            "co2e_g_by_source": {"usage_electricity": _sig(totals["usage_co2e_g"]),
                                 "device_manufacturing": _sig(totals["manufacturing_co2e_g"])},
            "device_lifetime_years": device["lifetime_years"],
            "device_daily_use_hours": device["daily_use_hours"],
        },
    }

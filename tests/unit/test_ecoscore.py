"""The écoscore: computed by hand for one journey, and its monotony as properties."""
import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.catalog.ecoscore import compute_ecoscore, interpolate, letter_for
from chalicelib.errors import ValidationFailed


@pytest.fixture
def method(referential):
    return referential.ecoscore_method


def journey(*steps):
    return {"device_class": "smartphone", "measured_at": "2026-10-01", "tool": "test",
            "journey": [{"name": f"step {i}", "duration_s": d, "data_kb": k, "energy_mwh": e}
                        for i, (d, k, e) in enumerate(steps)]}


def test_a_journey_is_scored_as_the_method_says(method):
    # Per-step averages: energy 4.5 mWh, duration 3 s, data 400 kB.
    result = compute_ecoscore(journey((2, 300, 3), (4, 500, 6)), method)
    energy, performance, data = (next(m for m in result["metrics"] if m["id"] == i)
                                 for i in ("energy", "performance", "data"))
    assert energy["per_step"] == 4.5 and energy["sub_score"] == 65.0      # halfway 80 -> 50
    assert performance["per_step"] == 3 and performance["sub_score"] == 65.0
    assert data["per_step"] == 400 and data["sub_score"] == 65.0
    assert result["score"] == 65.0 and result["letter"] == "B"
    assert [s["name"] for s in result["steps"]] == ["step 0", "step 1"]


def test_footprint_adds_usage_and_the_amortised_share_of_the_device(method):
    result = compute_ecoscore(journey((10, 1000, 5)), method)
    device = next(d for d in method["footprint"]["devices"] if d["id"] == "smartphone")
    life_s = device["lifetime_years"] * 365 * device["daily_use_hours"] * 3600
    kwh = 5 / 1e6 + 1000 / 1e6 * method["footprint"]["network_kwh_per_gb"]["value"]
    expected = kwh * method["footprint"]["electricity"]["co2e_g_per_kwh"] \
        + 10 / life_s * device["manufacturing"]["co2e_kg"] * 1000
    assert result["footprint"]["per_journey"]["co2e_g"] == pytest.approx(expected, rel=1e-3)
    by_source = result["footprint"]["co2e_g_by_source"]
    assert by_source["device_manufacturing"] > 0 and by_source["usage_electricity"] > 0
    assert result["footprint"]["per_journey"]["water_l"] > 0
    assert result["footprint"]["per_journey"]["land_m2a"] > 0


def test_the_breakdown_lets_anyone_recompute_the_score(method):
    result = compute_ecoscore(journey((1.2, 80, 2.1), (5, 900, 9), (0.4, 10, 0.8)), method)
    recomputed = sum(m["sub_score"] * m["weight"] for m in result["metrics"])
    assert result["score"] == pytest.approx(recomputed, abs=0.06)
    for metric in result["metrics"]:
        assert metric["sub_score"] == pytest.approx(interpolate(metric["per_step"], metric["breakpoints"]),
                                                    abs=0.01)


def test_the_same_report_always_gives_the_same_result(method):
    report = journey((1.2, 80, 2.1), (5, 900, 9))
    assert compute_ecoscore(report, method) == compute_ecoscore(copy.deepcopy(report), method)


def test_an_unknown_device_class_is_a_clear_validation_error(method):
    report = journey((1, 1, 1))
    report["device_class"] = "toaster"
    with pytest.raises(ValidationFailed) as raised:
        compute_ecoscore(report, method)
    assert raised.value.details[0]["pointer"] == "/ecoscore/device_class"


def test_an_empty_journey_is_a_clear_validation_error(method):
    with pytest.raises(ValidationFailed):
        compute_ecoscore(journey(), method)


measure = st.floats(min_value=0, max_value=50_000, allow_nan=False, allow_infinity=False)
steps = st.lists(st.tuples(measure, measure, measure), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(steps=steps, index=st.integers(min_value=0, max_value=7), field=st.integers(0, 2),
       extra=st.floats(min_value=0, max_value=10_000, allow_nan=False))
def test_more_energy_time_or_data_never_raises_the_score(referential, steps, index, field, extra):
    method = referential.ecoscore_method
    before = compute_ecoscore(journey(*steps), method)
    worse = [list(step) for step in steps]
    worse[index % len(worse)][field] += extra
    after = compute_ecoscore(journey(*worse), method)
    assert after["score"] <= before["score"]


@settings(max_examples=200, deadline=None)
@given(a=st.floats(0, 100), b=st.floats(0, 100))
def test_the_letter_follows_the_score(referential, a, b):
    method = referential.ecoscore_method
    letters = [band["letter"] for band in method["letters"]]  # best first
    low, high = sorted((a, b))
    assert letters.index(letter_for(high, method)) <= letters.index(letter_for(low, method))


@settings(max_examples=100, deadline=None)
@given(steps=steps)
def test_the_displayed_letter_is_the_letter_of_the_displayed_score(referential, steps):
    method = referential.ecoscore_method
    result = compute_ecoscore(journey(*steps), method)
    assert 0 <= result["score"] <= 100
    assert result["letter"] == letter_for(result["score"], method)

"""The data in catalog/ holds together: what a non-programmer edits is checked here."""
import json

import jsonschema
import pytest

from chalicelib.catalog.compliance import track_of
from chalicelib.catalog.demo import demo_listing_files
from chalicelib.catalog.ecoscore import compute_ecoscore
from chalicelib.catalog.referential import load_referential

DEMO_NAMES = [path.stem for path in demo_listing_files(load_referential().directory)]


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def demo_files(referential):
    return [(path.stem, json.loads(path.read_text(encoding="utf-8")))
            for path in demo_listing_files(referential.directory)]


def test_criteria_cover_the_four_families_with_unique_ids(referential):
    criteria = referential.criteria_document["criteria"]
    assert len({c["id"] for c in criteria}) == len(criteria)
    assert {c["family"] for c in criteria} == {"URB", "INT", "SEC", "ETH"}
    for criterion in criteria:
        assert criterion["id"].startswith(criterion["family"] + "-")
        assert criterion["title"]["fr"] and criterion["title"]["en"]
        assert set(criterion["tracks"]) <= {"simple", "data_exchange"} and criterion["tracks"]
    assert referential.criteria["ETH-32"]["evidence"] == "ecoscore_report"
    assert referential.criteria_document["sources"], "the référentiel names its public sources"


@pytest.mark.parametrize("topic", ["FranceConnect", "HDS", "PGSSI-S", "INS", "CI-SIS", "intrusion",
                                   "DPO", "confidentialité", "Union européenne", "publicitaire",
                                   "RGAA", "contenus", "Transparence", "prévention", "Écoscore"])
def test_the_referential_covers_each_required_topic(referential, topic):
    titles = [c["title"]["fr"] for c in referential.criteria.values()]
    assert any(topic.lower() in title.lower() for title in titles), topic


def test_ecoscore_method_is_monotonic_and_sourced(referential):
    method = referential.ecoscore_method
    for metric in method["metrics"].values():
        values = [v for v, _ in metric["breakpoints"]]
        scores = [s for _, s in metric["breakpoints"]]
        assert values == sorted(values) and len(set(values)) == len(values)
        assert scores == sorted(scores, reverse=True) and scores[0] == 100 and scores[-1] == 0
    minimums = [band["min_score"] for band in method["letters"]]
    assert minimums == sorted(minimums, reverse=True) and minimums[-1] == 0
    assert set(method["weights"]) == set(method["metrics"])
    source_ids = {s["id"] for s in method["sources"]}
    for device in method["footprint"]["devices"]:
        assert device["source"] in source_ids
    assert method["footprint"]["electricity"]["source"] in source_ids


def test_every_data_scope_maps_to_a_known_data_kind(referential):
    for scope in referential.data_scopes.values():
        assert scope["data_kind"] in referential.data_kinds
        assert scope["scope"].startswith("patient/")


def test_at_least_eight_demo_apps_across_categories_and_the_sandbox(referential):
    demos = dict(demo_files(referential))
    assert len(demos) >= 9
    categories = {d["listing"]["category"] for d in demos.values()}
    assert len(categories) >= 8
    sandbox = demos["demo-sandbox"]
    assert sandbox["app_id"] == "demo-sandbox"
    assert sandbox["listing"]["client"] == {"type": "public"}
    assert set(sandbox["listing"]["redirect_uris"]) == {"http://127.0.0.1:9999/callback",
                                                       "http://localhost:9999/callback"}
    assert set(sandbox["review"]["approved_scopes"]) == set(referential.data_scopes) | {"offline_access"}


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_each_demo_listing_is_valid_and_complete(referential, name):
    demo = dict(demo_files(referential))[name]
    listing = demo["listing"]
    assert demo["app_id"] == name
    jsonschema.Draft202012Validator(referential.listing_schema).validate(listing)
    assert luhn_ok(listing["publisher"]["siret"])
    assert listing["category"] in referential.categories
    for item in listing["scopes"]:
        assert item["scope"] in referential.data_scopes
        assert item["purpose"] in referential.purposes
    for criterion_id, evidence in listing["evidence"].items():
        assert evidence["kind"] == referential.criteria[criterion_id]["evidence"], criterion_id
    mandatory = [c["id"] for c in referential.criteria_for(track_of(listing))
                 if c["mandatory"] and c["id"] != "ETH-32"]
    assert not [c for c in mandatory if c not in listing["evidence"]]
    assert not [t for t in listing["third_parties"] if t["purpose"] in ("advertising", "audience_measurement")]
    approved = set(demo["review"]["approved_scopes"]) - {"offline_access"}
    assert approved <= {item["scope"] for item in listing["scopes"]}
    compute_ecoscore(listing["ecoscore"], referential.ecoscore_method)


def test_demo_ecoscores_span_the_letters(referential):
    letters = {compute_ecoscore(d["listing"]["ecoscore"], referential.ecoscore_method)["letter"]
               for _, d in demo_files(referential)}
    assert letters == {"A", "B", "C", "D", "E"}

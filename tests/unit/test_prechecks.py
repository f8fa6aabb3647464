"""Each automated pre-check, failing alone, names its criterion and where it is."""
import copy
from datetime import date

import pytest

from chalicelib.referencing.prechecks import run_prechecks, schema_failures, siret_is_valid
from tests.helpers.identity import OTHER_SIRET, SANDBOX_SIRET

TODAY = date(2026, 11, 28)


def failures_of(listing, referential, siret=SANDBOX_SIRET):
    return [(f["criterion"], f["pointer"]) for f in run_prechecks(listing, referential, TODAY, siret)]


def test_a_complete_listing_passes(listing, referential):
    assert failures_of(listing, referential) == []


@pytest.mark.parametrize("change, expected", [
    (lambda doc: doc["evidence"].pop("SEC-01"), ("SEC-01", "/evidence/SEC-01")),
    (lambda doc: doc["evidence"]["SEC-01"].update(valid_until="2026-11-27"),
     ("SEC-01", "/evidence/SEC-01/valid_until")),
    (lambda doc: doc["evidence"]["SEC-03"].update(date="2025-10-01"), ("SEC-03", "/evidence/SEC-03/date")),
    (lambda doc: doc["evidence"].update({"ETH-02": {"kind": "declaration", "statement": "Nous respectons tout."}}),
     ("ETH-02", "/evidence/ETH-02/kind")),
    (lambda doc: doc["third_parties"].append({"name": "Pub", "purpose": "advertising"}),
     ("ETH-05", "/third_parties/1/purpose")),
    (lambda doc: doc["third_parties"].append({"name": "Stats", "purpose": "audience_measurement"}),
     ("ETH-05", "/third_parties/1/purpose")),
    (lambda doc: doc["scopes"][0].update(scope="patient/Immunization.rs"), ("ETH-09", "/scopes/0/scope")),
    (lambda doc: doc["scopes"][0].pop("purpose"), ("ETH-09", "/scopes/0/purpose")),
    (lambda doc: doc["redirect_uris"].append("http://app.example.com/cb"), ("INT-02", "/redirect_uris/2")),
    (lambda doc: doc["redirect_uris"].append("https://app.example.com/cb#frag"), ("INT-02", "/redirect_uris/2")),
    (lambda doc: doc["ecoscore"].update(device_class="toaster"), ("ETH-32", "/ecoscore/device_class")),
    (lambda doc: doc["ecoscore"].update(journey=doc["ecoscore"]["journey"][:2]), ("ETH-32", "/ecoscore/journey")),
    (lambda doc: doc["ecoscore"].pop("journey"), ("ETH-32", "/ecoscore/journey")),
    (lambda doc: doc["publisher"].update(siret="73282932000075"), (None, "/publisher/siret")),
    (lambda doc: doc.update(category="astrology"), (None, "/category")),
])
def test_each_failure_is_reported_with_its_criterion(listing, referential, change, expected):
    broken = copy.deepcopy(listing)
    change(broken)
    assert expected in failures_of(broken, referential)


def test_every_failure_is_reported_at_once(listing, referential):
    broken = copy.deepcopy(listing)
    broken["evidence"].pop("SEC-01")
    broken["evidence"].pop("ETH-01")
    broken["third_parties"].append({"name": "Pub", "purpose": "advertising"})
    criteria = {criterion for criterion, _ in failures_of(broken, referential)}
    assert {"SEC-01", "ETH-01", "ETH-05"} <= criteria


def test_a_listing_for_another_organisation_fails(listing, referential):
    assert (None, "/publisher/siret") in failures_of(listing, referential, siret=OTHER_SIRET)


def test_a_simple_listing_needs_no_data_exchange_evidence(listing, referential):
    simple = copy.deepcopy(listing)
    simple["scopes"], simple["offline_access"] = [], False
    for criterion in ("URB-02", "INT-01", "INT-02", "SEC-07", "ETH-04", "ETH-09"):
        simple["evidence"].pop(criterion, None)
    assert failures_of(simple, referential) == []


def test_drafts_may_be_incomplete_but_not_wrong(listing, referential):
    assert schema_failures({"name": "Brouillon"}, referential, complete=False) == []
    wrong = schema_failures({"name": "B", "platforms": ["fax"]}, referential, complete=False)
    assert {f["pointer"] for f in wrong} == {"/name", "/platforms/0"}
    missing = schema_failures({"name": "Brouillon"}, referential, complete=True)
    assert "/ecoscore" in {f["pointer"] for f in missing}


@pytest.mark.parametrize("siret, valid", [("73282932000074", True), ("73282932000075", False),
                                          ("35600000000048", True), ("35600000000006", True),
                                          ("35600000000007", False), ("1234567890123", False)])
def test_siret_checksum(siret, valid):
    assert siret_is_valid(siret) is valid


def test_the_readme_walkthrough_files_say_what_the_readme_says(referential):
    import json
    folder = referential.directory / "demo" / "walkthrough"
    good = json.loads((folder / "listing.json").read_text(encoding="utf-8"))
    flawed = json.loads((folder / "listing-with-problems.json").read_text(encoding="utf-8"))
    assert run_prechecks(good, referential, TODAY, OTHER_SIRET) == []
    criteria = {f["criterion"] for f in run_prechecks(flawed, referential, TODAY, OTHER_SIRET)}
    assert criteria == {"ETH-05", "SEC-01", "ETH-01"}


@pytest.mark.parametrize("garbage", [[], "text", {"ecoscore": {"journey": [{"energy_mwh": "abc"}]}},
                                     {"evidence": "none", "scopes": 3, "third_parties": [None]}])
def test_garbage_gives_failures_not_a_crash(referential, garbage):
    assert run_prechecks(garbage, referential, TODAY, SANDBOX_SIRET)

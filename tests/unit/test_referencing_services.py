"""The publisher and review services, called directly by Principals built by hand: a draft belongs
to its organisation, submission runs the pre-checks, and the commission's decision, suspension and
quota reach the catalogue and the app's status item (what the FHIR gate and OAuth read)."""

import pytest

from chalicelib.catalog.models import STATUS_VERSION, AppStatus, ListingVersion
from chalicelib.catalog.query import CatalogQuery
from chalicelib.catalog.service import CatalogService
from chalicelib.consent.service import ConsentService
from chalicelib.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.fhir.gate import Gate
from chalicelib.oauth.quotas import Quota, Quotas
from chalicelib.referencing.publisher_service import PublisherService
from chalicelib.referencing.review_service import ReviewService
from chalicelib.referencing.workflow import load_head
from tests.helpers.identity import OTHER_SIRET
from tests.helpers.services import ALICE, access_grant, publisher, reviewer


@pytest.fixture
def catalog(aws, referential, fixed_clock):
    return CatalogService(referential, fixed_clock)


@pytest.fixture
def publishing(catalog, referential, fixed_clock):
    return PublisherService(referential, fixed_clock)


@pytest.fixture
def review(catalog, referential, fixed_clock):
    return ReviewService(referential, catalog, fixed_clock)


@pytest.fixture
def submitted(publishing, listing):
    """A complete listing of the sandbox's organisation, submitted: its app id."""
    head, _ = publishing.create_app(publisher(), listing)
    publishing.submit(publisher(), head.app_id, 1, None)
    return head.app_id


def every_result(review, app_id, result="pass"):
    return {criterion: {"result": result, "note": "ok"} for criterion in review.get_version(app_id, 1)["criteria"]}


def decision(review, app_id, listing, **extra):
    scopes = [item["scope"] for item in listing["scopes"]]
    return {"opinion": "favourable", "results": every_result(review, app_id), "approved_scopes": scopes,
            "comment": "Dossier complet.", **extra}


def status_of(app_id):
    return AppStatus.get(app_id, STATUS_VERSION)


def catalogue_ids(catalog, referential):
    return [app["app_id"] for app in catalog.list_apps(CatalogQuery.parse({}, referential)).items]


def queued(review):
    return [item["app_id"] for item in review.queue()["items"]]


# -- drafts belong to their organisation ----------------------------------------------------------

def test_a_draft_is_created_for_the_publishers_organisation(publishing, listing):
    head, version = publishing.create_app(publisher(), listing)
    assert (head.status, version.state, version.version) == ("unlisted", "draft", 1)
    assert [app["app_id"] for app in publishing.list_apps(publisher())] == [head.app_id]
    assert publishing.get_app(publisher(), head.app_id)["versions"][0]["state"] == "draft"


def test_another_organisation_can_neither_read_nor_list_the_draft(publishing, listing):
    head, _ = publishing.create_app(publisher(), listing)
    with pytest.raises(Forbidden) as error:
        publishing.get_app(publisher(OTHER_SIRET), head.app_id)
    assert error.value.status == 403
    with pytest.raises(Forbidden):
        publishing.get_version(publisher(OTHER_SIRET), head.app_id, 1)
    assert publishing.list_apps(publisher(OTHER_SIRET)) == []


def test_a_publisher_cannot_file_a_listing_in_another_organisations_name(publishing, listing):
    with pytest.raises(ValidationFailed) as error:
        publishing.create_app(publisher(OTHER_SIRET), listing)
    assert "/publisher/siret" in {failure["pointer"] for failure in error.value.details}


def test_a_reviewer_cannot_create_a_draft(publishing, listing):
    with pytest.raises(Forbidden):
        publishing.create_app(reviewer(), listing)


# -- submission -----------------------------------------------------------------------------

def test_submitting_an_incomplete_draft_is_422_with_a_pointer_to_each_failure_and_changes_nothing(
        publishing, review, listing):
    draft = {k: v for k, v in listing.items() if k not in ("evidence", "ecoscore")}
    head, _ = publishing.create_app(publisher(), draft)
    with pytest.raises(ValidationFailed) as error:
        publishing.submit(publisher(), head.app_id, 1, None)
    assert error.value.status == 422
    assert {"/evidence", "/ecoscore"} <= {failure["pointer"] for failure in error.value.details}
    assert publishing.get_version(publisher(), head.app_id, 1).state == "draft"
    assert queued(review) == []


def test_a_complete_listing_is_submitted_to_the_commissions_queue(review, submitted):
    assert queued(review) == [submitted]
    assert review.get_version(submitted, 1)["prechecks"]["passed"] is True


# -- the commission's decision ----------------------------------------------------------------

def test_a_decision_without_a_result_for_every_criterion_is_422_and_changes_nothing(review, catalog, referential,
                                                                                   submitted, listing):
    body = decision(review, submitted, listing)
    missing = sorted(body["results"])[0]
    del body["results"][missing]
    with pytest.raises(ValidationFailed) as error:
        review.decide(reviewer(), submitted, 1, body)
    assert f"/results/{missing}" in {problem["pointer"] for problem in error.value.details}
    assert ListingVersion.get(submitted, 1).state == "submitted" and queued(review) == [submitted]
    assert status_of(submitted).status == "unlisted"
    assert catalogue_ids(catalog, referential) == []


def test_a_favourable_decision_needs_every_mandatory_criterion_to_pass(review, submitted, listing):
    body = decision(review, submitted, listing)
    body["results"]["SEC-01"] = {"result": "fail", "note": "certificat absent"}
    with pytest.raises(ValidationFailed) as error:
        review.decide(reviewer(), submitted, 1, body)
    assert "/results/SEC-01" in {problem["pointer"] for problem in error.value.details}
    assert ListingVersion.get(submitted, 1).state == "submitted"


def test_a_favourable_decision_publishes_the_app_in_the_catalogue(review, catalog, referential, submitted, listing):
    decided = review.decide(reviewer(), submitted, 1, decision(review, submitted, listing))
    assert decided["state"] == "published" and decided["app"]["status"] == "published"
    assert catalogue_ids(catalog, referential) == [submitted]
    assert catalog.get_app(submitted)["name"] == listing["name"]
    status = status_of(submitted)
    assert status.status == "published" and status.approved_scopes == {item["scope"] for item in listing["scopes"]}
    assert queued(review) == []


def test_an_unfavourable_decision_publishes_nothing(review, catalog, referential, submitted, listing):
    review.decide(reviewer(), submitted, 1, decision(review, submitted, listing, opinion="unfavourable"))
    assert ListingVersion.get(submitted, 1).state == "rejected"
    assert catalogue_ids(catalog, referential) == [] and status_of(submitted).status == "unlisted"


def test_suspension_takes_the_app_down_and_moves_its_token_epoch(review, catalog, referential, submitted, listing):
    review.decide(reviewer(), submitted, 1, decision(review, submitted, listing))
    assert status_of(submitted).epoch == 0
    review.suspend(reviewer(), submitted, {"reason": "fuite de données"})
    assert catalogue_ids(catalog, referential) == []
    with pytest.raises(NotFound):
        catalog.get_app(submitted)
    status = status_of(submitted)
    assert (status.status, status.epoch) == ("suspended", 1)
    review.reinstate(reviewer(), submitted, {"reason": "corrigé"})
    assert catalogue_ids(catalog, referential) == [submitted]
    assert (status_of(submitted).status, status_of(submitted).epoch) == ("published", 1)


def test_a_decision_with_a_quota_stores_it_where_the_gate_reads_it(review, submitted, listing, fixed_clock):
    review.decide(reviewer(), submitted, 1, decision(review, submitted, listing, quota={"rate": 5, "burst": 10}))
    assert status_of(submitted).quota == {"rate": 5, "burst": 10}
    consent = ConsentService(fixed_clock).grant(ALICE, load_head(submitted), ["patient/Observation.rs"],
                                                ["launch/patient"], 30)
    quotas = Quotas(Quota(100, 200))
    Gate(fixed_clock, quotas).admit(access_grant(consent), "search", "Observation")
    assert quotas.quota_of(submitted) == Quota(5, 10)


def test_a_decision_without_a_quota_leaves_the_default(review, submitted, listing):
    review.decide(reviewer(), submitted, 1, decision(review, submitted, listing))
    assert status_of(submitted).quota is None


def test_a_quota_beyond_the_accounts_limit_is_refused(review, submitted, listing):
    body = decision(review, submitted, listing, quota={"rate": 20_000, "burst": 10})
    with pytest.raises(ValidationFailed) as error:
        review.decide(reviewer(), submitted, 1, body)
    assert "/quota/rate" in {problem["pointer"] for problem in error.value.details}

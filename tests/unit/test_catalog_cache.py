"""The warm container's catalogue cache: one DynamoDB read per page and period, a change made here
forgotten at once, and elsewhere within the stated bound (settings.catalog_cache_seconds)."""
import pytest

from chalicelib.catalog.query import CatalogQuery
from chalicelib.catalog.service import CatalogService
from chalicelib.errors import NotFound
from chalicelib.identity.service import Principal
from chalicelib.observability import dynamodb_usage
from chalicelib.referencing.review_service import ReviewService

TTL = 30.0
REVIEWER = Principal("reviewer-1", "https://proconnect.test", "reviewer", "Dr Test")


class Timer:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def timer():
    return Timer()


def container(referential, timer):
    """One warm Lambda container's catalogue service (each container has its own cache)."""
    return CatalogService(referential, cache_seconds=TTL, timer=timer)


def first_page(service, **filters):
    return [card["app_id"] for card in service.list_apps(CatalogQuery.parse(filters, service.referential)).items]


def test_a_warm_container_reads_each_page_once_per_period(demo_apps, referential, timer):
    service = container(referential, timer)
    with dynamodb_usage() as usage:
        views = [first_page(service) for _ in range(50)] + [first_page(service, sort="ecoscore") for _ in range(50)]
        listings = [service.get_app("demo-sandbox")["name"] for _ in range(50)]
    assert len(set(map(tuple, views[:50]))) == 1 and len(set(listings)) == 1
    assert [call.operation for call in usage.calls] == ["Query", "Query", "GetItem"]
    timer.now += TTL + 1
    with dynamodb_usage() as usage:
        first_page(service)
    assert [call.operation for call in usage.calls] == ["Query"]  # read again once the period is over


def test_a_suspension_leaves_this_container_at_once_and_the_others_within_the_period(demo_apps, referential, timer):
    here, elsewhere = container(referential, timer), container(referential, timer)
    assert "demo-sandbox" in first_page(here) and "demo-sandbox" in first_page(elsewhere)
    assert elsewhere.get_app("demo-sandbox")
    ReviewService(referential, here, lambda: here.clock()).suspend(REVIEWER, "demo-sandbox",
                                                                    {"reason": "Incident de sécurité"})
    assert "demo-sandbox" not in first_page(here)
    with pytest.raises(NotFound):
        here.get_app("demo-sandbox")
    timer.now += TTL - 1
    assert "demo-sandbox" in first_page(elsewhere)  # still within the stated bound
    timer.now += 2
    assert "demo-sandbox" not in first_page(elsewhere)
    with pytest.raises(NotFound):
        elsewhere.get_app("demo-sandbox")


def test_without_a_period_every_view_reads_dynamodb(demo_apps, referential):
    service = CatalogService(referential)
    with dynamodb_usage() as usage:
        for _ in range(3):
            first_page(service)
    assert [call.operation for call in usage.calls] == ["Query"] * 3

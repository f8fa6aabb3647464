"""The catalogue service against moto: publishing, filtering, paging, and what a page costs."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.catalog.demo import import_demos, publish_demo, synthetic_demos
from chalicelib.catalog.models import CatalogEntry
from chalicelib.catalog.query import CatalogQuery
from chalicelib.catalog.service import CatalogService
from chalicelib.errors import InvalidRequest, NotFound
from chalicelib.observability import dynamodb_usage


def query(service, **params):
    return CatalogQuery.parse({k: str(v) for k, v in params.items()}, service.referential)


def every_page(service, **params):
    """Follow `next` to the end; returns the apps in order and the pages read."""
    apps, pages, cursor = [], 0, None
    while True:
        page = service.list_apps(query(service, **params, **({"cursor": cursor} if cursor else {})))
        apps += page.items
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            return apps, pages
        assert pages < 100, "paging does not end"


@pytest.fixture
def many_apps(catalog_service):
    demos = synthetic_demos(45, catalog_service)
    import_demos(catalog_service, demos)
    return demos


def test_paging_by_name_returns_every_app_once_in_order(catalog_service, many_apps):
    apps, pages = every_page(catalog_service, limit=10)
    names = [app["name"] for app in apps]
    assert len(names) == 45 and len({a["app_id"] for a in apps}) == 45
    assert [n.lower() for n in names] == sorted(n.lower() for n in names)
    assert pages == 5


def test_paging_by_ecoscore_puts_the_best_first(catalog_service, many_apps):
    apps, _ = every_page(catalog_service, sort="ecoscore", limit=7)
    scores = [app["ecoscore"]["score"] for app in apps]
    assert len(apps) == 45 and scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("params", [{}, {"category": "medication"}, {"min_ecoscore": "B"},
                                    {"data": "documents.read", "min_ecoscore": "C"},
                                    {"q": "balance"}, {"sort": "ecoscore", "min_ecoscore": "B"}])
def test_a_page_is_exactly_one_dynamodb_query(catalog_service, many_apps, params):
    with dynamodb_usage() as usage:
        catalog_service.list_apps(query(catalog_service, limit=5, **params))
    assert [call.operation for call in usage.calls] == ["Query"]


def test_filters_return_exactly_the_matching_apps(catalog_service, many_apps, referential):
    everything, _ = every_page(catalog_service, limit=100)
    letters = referential.letters

    def expected(predicate):
        return sorted(a["app_id"] for a in everything if predicate(a))

    def got(**params):
        return sorted(a["app_id"] for a in every_page(catalog_service, limit=8, **params)[0])

    assert got(category="medication") == expected(lambda a: a["category"]["id"] == "medication")
    assert got(min_ecoscore="B") == expected(lambda a: letters.index(a["ecoscore"]["letter"]) <= 1)
    assert got(min_ecoscore="B", sort="ecoscore") == got(min_ecoscore="B")
    assert got(data="measures.write") == expected(lambda a: "measures.write" in a["data_kinds"])
    assert got(data="documents.read", min_ecoscore="C", category="parenthood") == expected(
        lambda a: "documents.read" in a["data_kinds"] and letters.index(a["ecoscore"]["letter"]) <= 2
        and a["category"]["id"] == "parenthood")
    assert got(min_ecoscore="E") == expected(lambda a: True)


def test_free_text_ignores_case_and_accents(catalog_service, demo_apps):
    for text in ("diabète", "DIABETE", "glucosuivi"):
        page = catalog_service.list_apps(query(catalog_service, q=text))
        assert [a["app_id"] for a in page.items] == ["gluco-suivi"], text
    assert catalog_service.list_apps(query(catalog_service, q="zzzz introuvable")).items == []


def test_a_lapsed_listing_leaves_the_catalogue(catalog_service, demo_apps):
    later = CatalogService(catalog_service.referential,
                           clock=lambda: datetime.now(timezone.utc) + timedelta(days=3 * 365))
    assert later.list_apps(query(later)).items == []
    with pytest.raises(NotFound):
        later.get_app("demo-sandbox")
    assert catalog_service.get_app("demo-sandbox")["name"]


def test_republishing_moves_the_app_between_facets(catalog_service, demo_apps):
    demo = synthetic_demos(1, catalog_service)[0]
    demo["listing"]["category"] = "medication"
    publish_demo(catalog_service, demo)
    demo["listing"]["category"] = "prevention"
    publish_demo(catalog_service, demo)
    assert demo["app_id"] not in [a["app_id"] for a in every_page(catalog_service, category="medication")[0]]
    assert demo["app_id"] in [a["app_id"] for a in every_page(catalog_service, category="prevention")[0]]
    assert not list(CatalogEntry.query("category#medication", CatalogEntry.app_id == demo["app_id"]))


def test_the_public_listing_shows_only_approved_scopes_with_their_purpose(catalog_service, demo_apps):
    demo = synthetic_demos(1, catalog_service)[0]
    asked = [item["scope"] for item in demo["listing"]["scopes"]]
    demo["review"]["approved_scopes"] = asked[:1]
    publish_demo(catalog_service, demo)
    public = catalog_service.get_app(demo["app_id"])
    assert [d["scope"] for d in public["data_access"]] == asked[:1]
    assert public["data_access"][0]["label"]["fr"] and public["data_access"][0]["purpose"]["label"]["fr"]
    assert public["offline_access"] is False


def test_compliance_summary_tells_reservations_apart(catalog_service, demo_apps):
    # gluco-suivi's demo review records a failed optional criterion (INT-03).
    compliance = catalog_service.get_app("gluco-suivi")["compliance"]
    families = {f["id"]: f for f in compliance["families"]}
    assert families["INT"]["status"] == "compliant_with_reservations" and families["INT"]["failed"] == 1
    assert families["SEC"]["status"] == "compliant"
    assert compliance["status"] == "compliant_with_reservations"


def test_unknown_app_is_not_found(catalog_service, demo_apps):
    with pytest.raises(NotFound):
        catalog_service.get_app("does-not-exist")


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"},
                                    {"category": "astrology"}, {"min_ecoscore": "F"},
                                    {"data": "everything"}, {"sort": "price"}, {"q": "x" * 101}])
def test_bad_parameters_are_refused_with_the_parameter_named(catalog_service, params):
    with pytest.raises(InvalidRequest) as raised:
        CatalogQuery.parse(params, catalog_service.referential)
    assert raised.value.details[0]["parameter"] == next(iter(params))


def test_a_cursor_only_works_for_its_own_query(catalog_service, many_apps):
    page = catalog_service.list_apps(query(catalog_service, limit=5))
    with pytest.raises(InvalidRequest):
        catalog_service.list_apps(query(catalog_service, limit=5, category="medication", cursor=page.next_cursor))
    for forged in ("not-base64!", "eyJrIjoxfQ", page.next_cursor[:-4]):
        with pytest.raises(InvalidRequest):
            catalog_service.list_apps(query(catalog_service, limit=5, cursor=forged))


def test_a_forged_cursor_outside_the_query_is_a_400_not_a_dynamodb_error(catalog_service, many_apps):
    from chalicelib.catalog.query import encode_cursor, plan
    for params, key in [({}, {"facet": "category#medication", "app_id": "x", "name_key": "a#x"}),
                        ({"sort": "ecoscore", "min_ecoscore": "A"},
                         {"facet": "all", "app_id": "x", "eco_key": "0999#z#x"})]:
        parsed = query(catalog_service, **params)
        forged = encode_cursor(key, plan(parsed, catalog_service.referential).fingerprint())
        with pytest.raises(InvalidRequest):
            catalog_service.list_apps(query(catalog_service, cursor=forged, **params))


def test_a_search_finds_its_first_page_however_large_the_catalogue(catalog_service):
    """The apps whose words start like the search are a partition of their own: on a catalogue
    where 230 apps sort before the first match, beyond the budget of a filtered page (200 entries),
    the first page is still full, read in one Query."""
    demos = synthetic_demos(260, catalog_service)  # every ninth is a "VisioSoin", last by name
    import_demos(catalog_service, demos)
    with dynamodb_usage() as usage:
        page = catalog_service.list_apps(query(catalog_service, q="visiosoin", limit=10))
    assert len(page.items) == 10 and all(card["name"].startswith("VisioSoin") for card in page.items)
    assert [call.operation for call in usage.calls] == ["Query"] and usage.calls[0].scanned_count <= 200
    found, _ = every_page(catalog_service, q="visio")
    assert len(found) == len([d for d in demos if d["listing"]["name"].startswith("VisioSoin")])


def test_words_match_from_their_start(catalog_service, demo_apps):
    assert [a["app_id"] for a in catalog_service.list_apps(query(catalog_service, q="gluco")).items] == ["gluco-suivi"]
    assert catalog_service.list_apps(query(catalog_service, q="lucosuivi")).items == []

"""The catalogue over HTTP (chalice.test.Client): what a client of the JSON API sees."""
import json

import pytest

from tests.helpers.identity import bearer


def test_the_catalogue_lists_published_apps_with_cards(client):
    response = client.get("/catalog/apps")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json_body
    assert body["limit"] == 20 and body["next"] is None and len(body["items"]) == 9
    card = next(item for item in body["items"] if item["app_id"] == "demo-sandbox")
    assert card["ecoscore"]["letter"] in "ABCDE"
    assert set(card["compliance"]) == {"URB", "INT", "SEC", "ETH"}
    assert card["category"]["label"] == {"fr": "Outils pour développeurs", "en": "Developer tools"}


def test_french_text_is_sent_as_utf8_not_escaped(client):
    raw = client.get("/catalog/apps/demo-sandbox").body.decode("utf-8")
    assert "Bac à sable développeurs" in raw


def test_next_links_walk_the_whole_catalogue(client):
    seen, url = [], "/catalog/apps?limit=4&sort=ecoscore"
    while url:
        body = client.get(url).json_body
        seen += [item["app_id"] for item in body["items"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 9


def test_filters_combine(client):
    body = client.get("/catalog/apps?data=documents.read&min_ecoscore=B&sort=ecoscore").json_body
    assert body["items"], "the demo catalogue has apps that read documents with a good écoscore"
    for item in body["items"]:
        assert "documents.read" in item["data_kinds"] and item["ecoscore"]["letter"] in "AB"


def test_an_app_page_has_breakdown_compliance_and_period(client):
    body = client.get("/catalog/apps/gluco-suivi").json_body
    assert body["name"] == "GlucoSuivi"
    assert [m["id"] for m in body["ecoscore"]["metrics"]] == ["energy", "performance", "data"]
    assert body["ecoscore"]["steps"] and body["ecoscore"]["footprint"]["per_journey"]["co2e_g"] > 0
    assert {f["id"] for f in body["compliance"]["families"]} == {"URB", "INT", "SEC", "ETH"}
    assert body["data_access"][0]["purpose"]["label"]["fr"]
    assert body["referencing"]["from"] < body["referencing"]["until"]


def test_unknown_app_is_a_404_in_the_error_shape(client):
    response = client.get("/catalog/apps/nothing-here")
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "not_found"
    assert "nothing-here" in response.json_body["error"]["message"]


@pytest.mark.parametrize("query, parameter", [
    ("limit=0", "limit"), ("limit=1000", "limit"), ("limit=abc", "limit"),
    ("category=astrology", "category"), ("min_ecoscore=Z", "min_ecoscore"),
    ("data=dna.read", "data"), ("sort=random", "sort"), ("cursor=garbage", "cursor"),
    ("categry=medication", "categry"),
])
def test_bad_query_parameters_are_400_naming_the_parameter(client, query, parameter):
    response = client.get(f"/catalog/apps?{query}")
    assert response.status_code == 400
    error = response.json_body["error"]
    assert error["code"] == "bad_request" and error["message"]
    assert parameter in [d["parameter"] for d in error["details"]]


def test_a_repeated_parameter_is_refused(client):
    response = client.get("/catalog/apps?category=medication&category=prevention")
    assert response.status_code == 400


def test_a_cursor_from_another_query_is_refused(client):
    cursor = client.get("/catalog/apps?limit=2").json_body["next_cursor"]
    response = client.get(f"/catalog/apps?limit=2&sort=ecoscore&cursor={cursor}")
    assert response.status_code == 400 and response.json_body["error"]["details"][0]["parameter"] == "cursor"


def test_a_wrong_method_gets_the_same_error_shape_with_allow(client):
    response = client.post("/catalog/apps", body=json.dumps({}), headers={"Content-Type": "application/json"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.json_body["error"]["code"] == "method_not_allowed"


def test_every_response_carries_a_request_id(client):
    assert client.get("/catalog/apps").headers["X-Request-Id"]
    assert client.get("/catalog/apps/nope").headers["X-Request-Id"]


def test_the_referential_and_the_listing_schema_are_public(client):
    referential = client.get("/catalog/referential").json_body
    assert "ETH-32" in {c["id"] for c in referential["criteria"]}
    assert referential["ecoscore_method"]["weights"] == {"energy": 1, "performance": 1, "data": 1}
    schema = client.get("/catalog/listing-schema").json_body
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_catalogue_is_readable_cross_origin(client):
    response = client.get("/catalog/apps", headers={"Origin": "https://app.example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"



@pytest.mark.parametrize("path", ["/catalog/apps", "/catalog/apps?sort=ecoscore&limit=5", "/catalog/apps/gluco-suivi",
                                  "/catalog/referential", "/catalog/listing-schema"])
def test_public_catalogue_answers_are_cacheable_and_revalidate_with_their_etag(client, path):
    first = client.get(path)
    assert first.status_code == 200 and first.headers["Cache-Control"].startswith("public, max-age=")
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.body in (b"", "", None) and again.headers["ETag"] == etag
    assert client.get(path, headers={"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_the_etag_of_a_catalogue_page_changes_with_its_content(client, reviewer_token):
    before = client.get("/catalog/apps?limit=100")
    suspended = client.post("/review/apps/gluco-suivi/suspend", body=json.dumps({"reason": "Incident de sécurité"}),
                            headers={**bearer(reviewer_token), "Content-Type": "application/json"})
    assert suspended.status_code == 200, suspended.body
    after = client.get("/catalog/apps?limit=100", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert "gluco-suivi" not in [app["app_id"] for app in after.json_body["items"]]

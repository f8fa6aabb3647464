"""/openapi.json describes every JSON endpoint, is valid OpenAPI 3.1, and tells the truth."""
import jsonschema
import pytest
from openapi_spec_validator import validate

from app import app

# HTML pages are not JSON endpoints.
HTML_ROUTES = {"/oauth/authorize", "/signin/franceconnect", "/signin/franceconnect/callback",
               "/signin/franceconnect/logged-out",
               "/", "/apps/{app_id}", "/account/sign-in", "/account/sign-out", "/account/consents",
               "/account/consents/{app_id}/revoke", "/account/consents/{app_id}/receipt", "/account/history",
               "/account/export", "/account/export/archive", "/account/relatives", "/account/relatives/act-for",
               "/account/relatives/invite", "/account/relatives/invitations/{code}", "/account/relatives/end",
               "/account/alerts",
               # The referencing portal's pages (chalicelib/portal/).
               "/portal", "/portal/sign-in", "/portal/sign-out", "/portal/signin/proconnect",
               "/portal/signin/proconnect/callback", "/portal/signin/proconnect/logged-out", "/portal/apps",
               "/portal/new-app", "/portal/apps/{app_id}", "/portal/apps/{app_id}/client-secret",
               "/portal/apps/{app_id}/versions", "/portal/apps/{app_id}/changes",
               "/portal/apps/{app_id}/versions/{version}", "/portal/apps/{app_id}/versions/{version}/withdraw",
               "/portal/apps/{app_id}/versions/{version}/evidence/{criterion}",
               "/portal/apps/{app_id}/versions/{version}/evidence/{criterion}/uploaded",
               "/portal/apps/{app_id}/versions/{version}/files/{criterion}/{index}",
               "/portal/review", "/portal/review/apps/{app_id}/versions/{version}",
               "/portal/review/files/{app_id}/{version}/{criterion}/{index}", "/portal/review/apps",
               "/portal/review/apps/{app_id}", "/portal/review/apps/{app_id}/{action}", "/portal/review/activity"}


@pytest.fixture
def document(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json_body


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_and_method_is_described(document):
    missing = [f"{method} {path}" for path, methods in app.routes.items() if path not in HTML_ROUTES
               for method in methods if method.lower() not in document["paths"].get(path, {})]
    assert not missing, f"routes missing from /openapi.json: {missing}"
    described = {(path, method.upper()) for path, methods in document["paths"].items() for method in methods}
    routed = {(path, method) for path, methods in app.routes.items() for method in methods}
    assert described <= routed, f"described but not routed: {described - routed}"


def test_each_operation_carries_its_view_docstring(document):
    assert "min_ecoscore" in document["paths"]["/catalog/apps"]["get"]["description"]


def _validator(document, name):
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("url, schema", [("/catalog/apps", "CatalogPage"),
                                         ("/catalog/apps?limit=2", "CatalogPage"),
                                         ("/catalog/apps/gluco-suivi", "PublicListing"),
                                         ("/catalog/apps/souffle-serein", "PublicListing"),
                                         ("/catalog/referential", "Referential"),
                                         ("/catalog/apps/unknown", "Error"),
                                         ("/catalog/apps?limit=0", "Error")])
def test_responses_match_their_described_schema(client, document, url, schema):
    body = client.get(url).json_body
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _validator(document, schema).iter_errors(body)]
    assert not errors

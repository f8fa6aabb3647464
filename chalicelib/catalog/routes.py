"""HTTP routes of the public catalogue (JSON)."""
from __future__ import annotations

from urllib.parse import urlencode

from chalice import Blueprint

from chalicelib.catalog.query import PARAMETERS, CatalogQuery
from chalicelib.catalog.service import CatalogService
from chalicelib.edge import Routes
from chalicelib.responses import cacheable_json

# Public data that changes only when the commission decides: browsers and CDNs keep it as long as
# a warm container keeps what it read (settings.catalog_cache_seconds), and revalidate with ETag.
# The référentiel and the listing schema change only with a deployment.
STATIC_MAX_AGE = 300


def create_blueprint(service: CatalogService, max_age: int = 30) -> Blueprint:
    blueprint = Blueprint(__name__)
    routes = Routes(blueprint)

    def public(body, seconds: int = max_age):
        return cacheable_json(body, routes.header("if-none-match"), seconds)

    @routes.route("/catalog/apps", methods=["GET"], cors=True)
    def list_apps():
        """Published apps, filtered and sorted, one page at a time.

        Filters: `category`, `min_ecoscore` (letter), `data` (a data kind such as
        `documents.read`), `q` (words of the name or description). `sort` is `name` or
        `ecoscore`. Follow `next` for the following page: a filtered page may hold fewer than
        `limit` apps while more follow.
        """
        params = routes.query(PARAMETERS)
        query = CatalogQuery.parse(params, service.referential)
        page = service.list_apps(query)
        next_link = None
        if page.next_cursor:
            next_link = "/catalog/apps?" + urlencode(
                {**{k: v for k, v in params.items() if k != "cursor"}, "cursor": page.next_cursor})
        return public({"items": page.items, "limit": query.limit, "next_cursor": page.next_cursor,
                       "next": next_link})

    @routes.route("/catalog/apps/{app_id}", methods=["GET"], cors=True)
    def get_app(app_id: str):
        """The public listing of one published app: description, data it may ask for and why,
        compliance per family, écoscore with its breakdown, referencing period."""
        return public(service.get_app(app_id))

    @routes.route("/catalog/referential", methods=["GET"], cors=True)
    def get_referential():
        """The référentiel: criteria by family, categories, purposes, data kinds and scopes, and
        the écoscore method with its thresholds, factors and sources."""
        return public(service.referential_view(), STATIC_MAX_AGE)

    @routes.route("/catalog/listing-schema", methods=["GET"], cors=True)
    def get_listing_schema():
        """The JSON Schema (2020-12) that a publisher's listing document must satisfy."""
        return public(service.referential.listing_schema, STATIC_MAX_AGE)

    return blueprint

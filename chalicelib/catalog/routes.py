"""HTTP routes of the public catalogue (JSON)."""
from __future__ import annotations

from urllib.parse import urlencode

from chalice import Blueprint

from chalicelib.catalog.query import PARAMETERS, CatalogQuery
from chalicelib.catalog.service import CatalogService
from chalicelib.edge import Routes
from chalicelib.responses import json_response

# Public data that changes only when the commission decides: let browsers and CDNs keep it briefly.
_PUBLIC_CACHE = {"Cache-Control": "public, max-age=60"}


def create_blueprint(service: CatalogService) -> Blueprint:
    blueprint = Blueprint(__name__)
    routes = Routes(blueprint)

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
        return json_response({"items": page.items, "limit": query.limit,
                              "next_cursor": page.next_cursor, "next": next_link}, headers=_PUBLIC_CACHE)

    @routes.route("/catalog/apps/{app_id}", methods=["GET"], cors=True)
    def get_app(app_id: str):
        """The public listing of one published app: description, data it may ask for and why,
        compliance per family, écoscore with its breakdown, referencing period."""
        return json_response(service.get_app(app_id), headers=_PUBLIC_CACHE)

    @routes.route("/catalog/referential", methods=["GET"], cors=True)
    def get_referential():
        """The référentiel: criteria by family, categories, purposes, data kinds and scopes, and
        the écoscore method with its thresholds, factors and sources."""
        return json_response(service.referential_view(), headers=_PUBLIC_CACHE)

    @routes.route("/catalog/listing-schema", methods=["GET"], cors=True)
    def get_listing_schema():
        """The JSON Schema (2020-12) that a publisher's listing document must satisfy."""
        return json_response(service.referential.listing_schema, headers=_PUBLIC_CACHE)

    return blueprint

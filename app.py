"""Wires configuration, services and blueprints into the Chalice app. No logic lives here."""
from chalice import Chalice

from chalicelib import edge, openapi
from chalicelib.catalog import openapi as catalog_openapi
from chalicelib.catalog import routes as catalog_routes
from chalicelib.catalog.referential import load_referential
from chalicelib.catalog.service import CatalogService
from chalicelib.config import settings

app = Chalice(app_name="mes-appstore")
app.register_middleware(edge.log_request, "http")

catalog_service = CatalogService(load_referential())

app.register_blueprint(catalog_routes.create_blueprint(catalog_service))
app.register_blueprint(openapi.create_blueprint(app, settings.public_base_url, [catalog_openapi]))

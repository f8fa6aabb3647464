"""Wires configuration, services and blueprints into the Chalice app. No logic lives here."""
from chalice import Chalice

from chalicelib import edge, openapi
from chalicelib.catalog import openapi as catalog_openapi
from chalicelib.catalog import routes as catalog_routes
from chalicelib.catalog.referential import load_referential
from chalicelib.catalog.service import CatalogService, utc_now
from chalicelib.config import settings
from chalicelib.consent import openapi as consent_openapi
from chalicelib.consent import routes as consent_routes
from chalicelib.consent.service import ConsentService
from chalicelib.identity.citizens import CitizenSessions
from chalicelib.identity.service import identity_service_for
from chalicelib.oauth import openapi as oauth_openapi
from chalicelib.oauth import routes as oauth_routes
from chalicelib.oauth.authorize import AuthorizeFlow
from chalicelib.oauth.keys import token_keys_for
from chalicelib.oauth.server import BrokerServer
from chalicelib.referencing import openapi as referencing_openapi
from chalicelib.referencing import routes as referencing_routes
from chalicelib.referencing.publisher_service import PublisherService
from chalicelib.referencing.review_service import ReviewService

app = Chalice(app_name="mes-appstore")
app.register_middleware(edge.log_request, "http")

referential = load_referential()
identity_service = identity_service_for(settings)
catalog_service = CatalogService(referential, utc_now)
publisher_service = PublisherService(referential, utc_now)
review_service = ReviewService(referential, catalog_service, utc_now)
token_keys = token_keys_for(settings)
consent_service = ConsentService(utc_now)
citizen_sessions = CitizenSessions(utc_now)
oauth_server = BrokerServer(token_keys, settings.issuer, settings.fhir_base_url, utc_now, consent_service)
authorize_flow = AuthorizeFlow(oauth_server, consent_service, citizen_sessions, referential, settings.fhir_base_url,
                               demo_logins=settings.demo_sign_in)

app.register_blueprint(catalog_routes.create_blueprint(catalog_service))
app.register_blueprint(referencing_routes.create_blueprint(identity_service, publisher_service, review_service))
app.register_blueprint(oauth_routes.create_blueprint(
    token_keys, oauth_server if token_keys else None, authorize_flow if token_keys else None, referential,
    settings.issuer, secure_cookies=not settings.is_local))
app.register_blueprint(consent_routes.create_blueprint(consent_service, citizen_sessions))
app.register_blueprint(openapi.create_blueprint(app, settings.public_base_url,
                                                [catalog_openapi, referencing_openapi, oauth_openapi,
                                                 consent_openapi]))

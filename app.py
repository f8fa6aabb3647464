"""Wires configuration, services and blueprints into the Chalice app. No logic lives here."""
from chalice import Chalice, Cron, Rate

from chalicelib import edge, openapi
from chalicelib.catalog import openapi as catalog_openapi
from chalicelib.catalog import routes as catalog_routes
from chalicelib.catalog.referential import load_referential
from chalicelib.catalog.service import CatalogService
from chalicelib.catalog.store import CatalogStore
from chalicelib.clock import utc_now
from chalicelib.config import settings
from chalicelib.consent import openapi as consent_openapi
from chalicelib.consent import routes as consent_routes
from chalicelib.consent.proxies import ProxyService
from chalicelib.consent.service import ConsentService
from chalicelib.consent.store import ConsentStore, ProxyStore
from chalicelib.export import openapi as export_openapi
from chalicelib.export import routes as export_routes
from chalicelib.export.runner import runner_for
from chalicelib.export.service import ExportService
from chalicelib.fhir import openapi as fhir_openapi
from chalicelib.fhir import routes as fhir_routes
from chalicelib.fhir.access import TokenVerifier
from chalicelib.fhir.gate import Gate
from chalicelib.records.resources import Codec
from chalicelib.terminology import load_terminology
from chalicelib.fhir.service import FhirService
from chalicelib.identity import routes as signin_routes
from chalicelib.identity.citizens import CitizenSessions
from chalicelib.identity.families import families_for
from chalicelib.identity.service import identity_service_for
from chalicelib.identity.signin import upstream_sign_in_for
from chalicelib.identity.store import LinkStore, SessionStore
from chalicelib.oauth import openapi as oauth_openapi
from chalicelib.oauth import routes as oauth_routes
from chalicelib.oauth.authorize import AuthorizeFlow
from chalicelib.oauth.claims import claim_seal_for
from chalicelib.oauth.keys import token_keys_for
from chalicelib.oauth.quotas import quotas_for
from chalicelib.oauth.server import BrokerServer
from chalicelib.oauth.store import GrantStore
from chalicelib.pages import routes as pages_routes
from chalicelib.identity.portal import PortalSessions, portal_sign_in_for
from chalicelib.portal import routes as portal_routes
from chalicelib.referencing.activity import ActivityReport
from chalicelib.referencing.evidence import EvidenceService, EvidenceStore
from chalicelib.referencing import openapi as referencing_openapi
from chalicelib.referencing import routes as referencing_routes
from chalicelib.referencing.publisher_service import PublisherService
from chalicelib.records import openapi as records_openapi
from chalicelib.records import routes as records_routes
from chalicelib.records.audit import AccessLog
from chalicelib.records.documents import DocumentStore
from chalicelib.records.service import RecordService
from chalicelib.records.store import AuditStore, RecordStore
from chalicelib.referencing.review_service import ReviewService
from chalicelib.notify.alerts import AlertService
from chalicelib.notify.delivery import DeliveryWorker
from chalicelib.notify.events import FanOut
from chalicelib.notify.heartbeats import HeartbeatSweep
from chalicelib.notify.local import local_pipeline_for
from chalicelib.notify.mailer import mailer_for
from chalicelib.notify.queue import SqsQueue
from chalicelib.notify.service import SubscriptionService
from chalicelib.notify.topics import load_topics
from chalicelib.pages.history import described

app = Chalice(app_name="mes-appstore")
app.register_middleware(edge.log_request, "http")

referential = load_referential()
identity_service = identity_service_for(settings)
catalog_service = CatalogService(referential, utc_now, cache_seconds=settings.catalog_cache_seconds,
                                 store=CatalogStore())
publisher_service = PublisherService(referential, utc_now)
review_service = ReviewService(referential, catalog_service, utc_now)
token_keys = token_keys_for(settings, utc_now)
consent_service = ConsentService(utc_now, ConsentStore())
proxy_service = ProxyService(utc_now, consent_service, ProxyStore())
citizen_sessions = CitizenSessions(utc_now, SessionStore())
families = families_for(settings, utc_now, proxies=proxy_service)
# Who acted for a citizen, by name: as the identity records know them, else as the consent they gave
# names them (where the records know no one, the name their identity provider vouched for).
access_log = AccessLog(utc_now, AuditStore(), names=lambda patient_id, person_id: families.name(person_id)
                       or consent_service.giver_name(patient_id, person_id))
claim_seal = claim_seal_for(settings)
quotas = quotas_for(settings)
oauth_server = BrokerServer(token_keys, settings.issuer, settings.fhir_base_url, utc_now, consent_service, claim_seal,
                            quotas, GrantStore())
citizen_sign_in = upstream_sign_in_for(settings, citizen_sessions, utc_now, LinkStore())
authorize_flow = AuthorizeFlow(oauth_server, consent_service, citizen_sessions, referential, settings.fhir_base_url,
                               demo_logins=settings.demo_sign_in, upstream_sign_in=citizen_sign_in is not None,
                               families=families)

codec = Codec(load_terminology(settings.catalog_dir), settings.fhir_base_url)
documents = DocumentStore(settings.documents_bucket, settings.region, settings.s3_endpoint)
fhir_service = FhirService(codec, Gate(utc_now, quotas), documents, utc_now, settings.public_base_url)
# On AWS the export worker Lambda (below); locally a thread: both call export_service.handle.
export_runner = runner_for(settings.export_worker_function, settings.region, lambda event: export_service.handle(event))
export_service = ExportService(utc_now, codec, documents, consent_service, export_runner, settings.public_base_url,
                               proxies=proxy_service)
topics = load_topics(settings.catalog_dir)
subscription_service = SubscriptionService(utc_now, topics, settings.fhir_base_url,
                                           allow_loopback=settings.demo_sign_in)
# Notifications (decision 0017): the stream handler and the delivery worker are Lambdas of their own
# on AWS (below); locally `notify_pipeline` reads moto's streams and queue and calls the same two.
notify_queue = SqsQueue(settings.notify_queue_url, settings.region, settings.sqs_endpoint)
alert_service = AlertService(utc_now, described, mailer_for(settings.alerts_from_address, settings.region))
fan_out = FanOut(utc_now, topics, notify_queue, settings.records_table, settings.consents_table, settings.audit_table)
delivery = DeliveryWorker(utc_now, topics, notify_queue, settings.fhir_base_url, settings.notify_retry_seconds,
                          allow_private=settings.demo_sign_in, alerts=alert_service)
heartbeats = HeartbeatSweep(utc_now, notify_queue)
# Locally, the scheduled sweeps run in the pipeline at the template's periods (below).
notify_pipeline = local_pipeline_for(settings, notify_queue, fan_out.handle, delivery.handle, schedules=[
    ("consent_expiry", 15 * 60, consent_service.end_expired), ("notify_heartbeat", 60, heartbeats.sweep)])
token_verifier = TokenVerifier(token_keys, claim_seal, settings.issuer, settings.fhir_base_url)

app.register_blueprint(catalog_routes.create_blueprint(catalog_service, int(settings.catalog_cache_seconds)))
app.register_blueprint(referencing_routes.create_blueprint(identity_service, publisher_service, review_service))
app.register_blueprint(oauth_routes.create_blueprint(
    token_keys, oauth_server if token_keys else None, authorize_flow if token_keys else None, referential,
    settings.issuer, secure_cookies=not settings.is_local))
app.register_blueprint(consent_routes.create_blueprint(consent_service, citizen_sessions))
app.register_blueprint(fhir_routes.create_blueprint(fhir_service, token_verifier, settings.public_base_url, quotas,
                                                   subscription_service))
app.register_blueprint(records_routes.create_blueprint(access_log, RecordService(utc_now, RecordStore()),
                                                      citizen_sessions))
app.register_blueprint(signin_routes.create_blueprint(citizen_sign_in, secure_cookies=not settings.is_local))
app.register_blueprint(export_routes.create_blueprint(export_service, citizen_sessions))
app.register_blueprint(pages_routes.create_blueprint(catalog_service, consent_service, citizen_sessions, access_log,
                                                      settings, citizen_sign_in, exports=export_service,
                                                      families=families, alerts=alert_service,
                                                      proxies=proxy_service))
portal_sessions = PortalSessions(utc_now, SessionStore())
app.register_blueprint(portal_routes.create_blueprint(
    portal_sessions, publisher_service, review_service,
    EvidenceService(referential, EvidenceStore(settings.documents_bucket, settings.region, settings.s3_endpoint),
                    utc_now), referential, ActivityReport(utc_now), settings,
    portal_sign_in_for(settings, portal_sessions)))
app.register_blueprint(openapi.create_blueprint(app, settings.public_base_url,
                                                [catalog_openapi, referencing_openapi, oauth_openapi,
                                                 consent_openapi, fhir_openapi, records_openapi, export_openapi]))


@app.lambda_function(name="export_worker")
def export_worker(event, context):
    """Builds a citizen's export archive (invoked asynchronously by POST /me/export)."""
    export_service.handle(event)


# The stream ARN and the queue are the template's (infra/template.yaml replaces these placeholders).
@app.on_dynamodb_record(stream_arn="arn:aws:dynamodb:eu-west-3:000000000000:table/records/stream/template",
                        name="notify_fanout", batch_size=100, starting_position="LATEST")
def notify_fanout(event):
    """Changes of the Records, Consents and Audit tables: numbered notifications and alerts, queued."""
    return fan_out.handle(event.to_dict())


@app.on_sqs_message(queue_arn="arn:aws:sqs:eu-west-3:000000000000:notify", name="notify_delivery", batch_size=10)
def notify_delivery(event):
    """Queued notifications POSTed, signed, to the apps' endpoints; alerts to citizens."""
    return delivery.handle(event.to_dict())


@app.schedule(Cron(0, 6, "*", "*", "?", "*"), name="alert_digest")
def alert_digest(event):
    """Each morning, the digests of the citizens who chose one (yesterday's accesses)."""
    alert_service.digest()


@app.schedule(Rate(15, unit=Rate.MINUTES), name="consent_expiry")
def consent_expiry(event):
    """Every 15 minutes, consents past their end marked expired: their stream record tells the
    apps' consent-ended subscriptions, as a withdrawal does."""
    consent_service.end_expired()


@app.schedule(Rate(1, unit=Rate.MINUTES), name="notify_heartbeat")
def notify_heartbeat(event):
    """Every minute, a heartbeat queued for each subscription told nothing for its period."""
    heartbeats.sweep()

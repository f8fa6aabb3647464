"""HTTP routes of the FHIR R4 API (/fhir): thin; the rules live in service.py and gate.py."""
from __future__ import annotations

from typing import Dict, List, Optional
from urllib.parse import unquote

from chalice import Blueprint, CORSConfig, Response

from chalicelib.edge import Routes, query_lists, read_json_body
from chalicelib.errors import InvalidRequest, MethodNotAllowed, NotFound
from chalicelib.fhir.access import TokenVerifier
from chalicelib.fhir.capability import capability_statement
from chalicelib.fhir.everything import OPERATION
from chalicelib.records.resources import RESOURCE_TYPES
from chalicelib.fhir.service import RELATED_PERSON, FhirService, etag
from chalicelib.notify.service import SubscriptionService
from chalicelib.oauth.quotas import Quotas
from chalicelib.responses import json_response

FHIR_JSON = "application/fhir+json"
_CONTENT_TYPES = [FHIR_JSON, "application/json"]
MAX_FHIR_BODY = 5_800_000  # a 4 MB document in base64, within Lambda's 6 MB request limit
_CORS = CORSConfig(allow_origin="*", allow_headers=["Authorization", "Content-Type", "If-Match", "Prefer"],
                   expose_headers=["Location", "ETag", "Last-Modified", "WWW-Authenticate", "Retry-After",
                                   "RateLimit", "RateLimit-Policy"], max_age=600)


def create_blueprint(service: FhirService, verifier: TokenVerifier, public_base_url: str,
                     quotas: Optional[Quotas] = None, subscriptions: Optional[SubscriptionService] = None
                     ) -> Blueprint:
    blueprint = Blueprint(__name__)
    routes = Routes(blueprint)
    fhir_base = f"{public_base_url}/fhir"

    def grant():
        """The token's grant, its call counted against the app's quota (429 over it)."""
        access = verifier.grant_of(routes.header("authorization"))
        if quotas is not None:
            quotas.charge(access.app_id, "fhir")
        return access

    def known(resource_type: str) -> str:
        if resource_type not in RESOURCE_TYPES:
            raise NotFound(f"This server has no resource type '{resource_type[:64]}' "
                           f"(it serves {', '.join(RESOURCE_TYPES)}).")
        return resource_type

    def body():
        return read_json_body(routes.request, MAX_FHIR_BODY)

    def answer(resource: Dict, status: int = 200, version: Optional[int] = None, location: bool = False) -> Response:
        headers = {"Cache-Control": "no-store"}
        if version is not None:
            headers["ETag"] = etag(version)
            headers["Last-Modified"] = resource.get("meta", {}).get("lastUpdated", "")
        if location:
            headers["Location"] = f"{fhir_base}/{resource['resourceType']}/{resource['id']}/_history/{version}"
        return json_response(resource, status, headers, content_type=FHIR_JSON)

    def query() -> Dict[str, List[str]]:
        return query_lists(routes.request)

    def lenient() -> bool:
        prefer = (routes.header("prefer") or "").replace(" ", "").lower()
        return "handling=lenient" in prefer.split(";") or prefer == "handling=lenient"

    @routes.route("/fhir/metadata", methods=["GET"], cors=_CORS)
    def metadata():
        """The server's CapabilityStatement (FHIR R4), with the SMART OAuth endpoints."""
        return json_response(capability_statement(public_base_url, subscriptions.topics if subscriptions else None),
                             headers={"Cache-Control": "public, max-age=300"}, content_type=FHIR_JSON)

    @routes.route("/fhir/{resource_type}", methods=["GET"], cors=_CORS)
    def search(resource_type: str):
        """Search the token's patient's resources of a type: a searchset Bundle, newest first."""
        known(resource_type)
        if resource_type == "Patient":
            raise MethodNotAllowed("Patient is read by id: GET /fhir/Patient/{id}, the `patient` of the token.")
        return json_response(service.search(grant(), resource_type, query(), lenient()),
                             headers={"Cache-Control": "no-store"}, content_type=FHIR_JSON)

    @routes.route("/fhir/{resource_type}", methods=["POST"], cors=_CORS, content_types=_CONTENT_TYPES)
    def create(resource_type: str):
        """Create a resource in the token's patient's record (201, Location, ETag)."""
        known(resource_type)
        access = grant()
        resource, version = service.create(access, resource_type, body())
        return answer(resource, 201, version, location=True)

    @routes.route("/fhir/{resource_type}/{resource_id}", methods=["GET"], cors=_CORS)
    def read(resource_type: str, resource_id: str):
        """Read a resource of the token's patient, or the RelatedPerson that the ID token's
        `fhirUser` names (someone acting for the patient)."""
        if resource_type == RELATED_PERSON:
            resource, version = service.related_person(grant(), resource_id)
            return answer(resource, 200, version)
        known(resource_type)
        resource, version = service.read(grant(), resource_type, resource_id)
        return answer(resource, 200, version)

    @routes.route("/fhir/{resource_type}/{resource_id}/{operation}", methods=["GET"], cors=_CORS)
    def instance_operation(resource_type: str, resource_id: str, operation: str):
        """`GET /fhir/Patient/{id}/$everything` (`_since`, `_count`, `_cursor`): a searchset Bundle of
        all the token may see of its patient, paged like a search; another patient's id is a 404."""
        if resource_type != "Patient" or unquote(operation) != OPERATION:
            raise NotFound(f"This server has no operation '{unquote(operation)[:64]}' on '{resource_type[:64]}' "
                           f"(it serves Patient/{{id}}/{OPERATION}).")
        return json_response(service.everything(grant(), resource_id, query(), lenient()),
                             headers={"Cache-Control": "no-store"}, content_type=FHIR_JSON)

    @routes.route("/fhir/{resource_type}/{resource_id}", methods=["PUT"], cors=_CORS, content_types=_CONTENT_TYPES)
    def update(resource_type: str, resource_id: str):
        """Replace a resource this app wrote; `If-Match` makes it conditional (412 when stale)."""
        known(resource_type)
        access = grant()
        resource, version = service.update(access, resource_type, resource_id, body(), routes.header("if-match"))
        return answer(resource, 200, version)

    @routes.route("/fhir/{resource_type}/{resource_id}", methods=["DELETE"], cors=_CORS)
    def delete(resource_type: str, resource_id: str):
        """Delete a resource this app wrote."""
        known(resource_type)
        service.delete(grant(), resource_type, resource_id)
        return Response(body="", status_code=204, headers={"Cache-Control": "no-store"})

    @routes.route("/fhir", methods=["POST"], cors=_CORS, content_types=_CONTENT_TYPES)
    def transaction():
        """A transaction Bundle of creations (e.g. a device's batch of measures), all or nothing."""
        access = grant()
        payload = body()
        if not isinstance(payload, dict):
            raise InvalidRequest("A Bundle is expected.")
        return json_response(service.transaction(access, payload), headers={"Cache-Control": "no-store"},
                             content_type=FHIR_JSON)

    if subscriptions is not None:
        _subscription_routes(routes, subscriptions, grant, body, fhir_base)
    return blueprint


def _subscription_routes(routes: Routes, subscriptions: SubscriptionService, grant, body, fhir_base: str) -> None:
    """Topic-based subscriptions (Subscriptions R5 Backport on R4): the topics as Basic resources,
    the app's Subscriptions and `$status`. Literal paths: they take precedence over the
    `{resource_type}` routes above, locally as in API Gateway."""

    def fhir(payload: Dict, status: int = 200, headers: Optional[Dict[str, str]] = None) -> Response:
        return json_response(payload, status, {"Cache-Control": "no-store", **(headers or {})},
                             content_type=FHIR_JSON)

    @routes.route("/fhir/Basic", methods=["GET"], cors=_CORS)
    def topics():
        """The subscription topics (R5 SubscriptionTopic as R4 Basic resources): a searchset Bundle."""
        return fhir(subscriptions.topic_list())

    @routes.route("/fhir/Basic/{topic_id}", methods=["GET"], cors=_CORS)
    def topic(topic_id: str):
        """One subscription topic, as a Basic resource."""
        return fhir(subscriptions.topic(topic_id))

    @routes.route("/fhir/Subscription", methods=["POST"], cors=_CORS, content_types=_CONTENT_TYPES)
    def subscribe():
        """Subscribe to a topic (rest-hook, id-only): 201 with the Subscription and, this once, its
        signing secret; 403 when the token's scopes do not cover the topic."""
        access = grant()
        created = subscriptions.create(access, body())
        return fhir(created, 201, {"Location": f"{fhir_base}/Subscription/{created['id']}"})

    @routes.route("/fhir/Subscription", methods=["GET"], cors=_CORS)
    def subscription_search():
        """The app's subscriptions for the token's patient: a searchset Bundle."""
        return fhir(subscriptions.search(grant()))

    @routes.route("/fhir/Subscription/{subscription_id}", methods=["GET"], cors=_CORS)
    def subscription_read(subscription_id: str):
        """A Subscription of the app; `Subscription/$status` (`id`, `status`): the status of each."""
        if unquote(subscription_id) == "$status":
            params = query_lists(routes.request)
            return fhir(subscriptions.status(grant(), params.get("id", []), params.get("status", [])))
        return fhir(subscriptions.read(grant(), subscription_id))

    @routes.route("/fhir/Subscription/{subscription_id}", methods=["DELETE"], cors=_CORS)
    def unsubscribe(subscription_id: str):
        """Delete a Subscription of the app: no notification follows."""
        subscriptions.delete(grant(), subscription_id)
        return Response(body="", status_code=204, headers={"Cache-Control": "no-store"})

    @routes.route("/fhir/Subscription/{subscription_id}/{operation}", methods=["GET"], cors=_CORS)
    def subscription_status(subscription_id: str, operation: str):
        """`Subscription/{id}/$status`: a searchset Bundle of its SubscriptionStatus (events numbered,
        status, the last error)."""
        if unquote(operation) != "$status":
            raise NotFound(f"This server has no operation '{unquote(operation)[:64]}' on Subscription.")
        return fhir(subscriptions.status(grant(), [subscription_id], instance=True))

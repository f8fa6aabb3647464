"""GET /fhir/metadata: the CapabilityStatement, from the same tables the code uses."""
from __future__ import annotations

from typing import Any, Dict, Optional

from chalicelib.fhir.everything import DEFINITION, OPERATION
from chalicelib.fhir.search import PARAMETERS
from chalicelib.notify.bundles import STATUS_OPERATION, SUBSCRIPTION_PROFILE
from chalicelib.notify.topics import Topics

SOFTWARE_VERSION, RELEASE_DATE = "0.5.0", "2026-11-28"
_SEARCH_TYPES = {"patient": "reference", "subject": "reference", "type": "token", "code": "token",
                 "category": "token", "status": "token", "date": "date"}
_INTERACTIONS = {
    "DocumentReference": ["read", "search-type", "create", "update", "delete"],
    "Observation": ["read", "search-type", "create", "update", "delete"],
    "Appointment": ["read", "search-type", "create", "update", "delete"],
    "Patient": ["read"],
    "RelatedPerson": ["read"],
}
_PROFILES = {"DocumentReference": "Documents of the DMP (LOINC document types)",
             "Observation": "The eleven Mon espace santé measures (LOINC, UCUM)",
             "Appointment": "The shared agenda", "Patient": "The citizen, under the app's pairwise id",
             "RelatedPerson": "The person acting for the patient (legal representative, chosen proxy), as the ID "
                              "token's fhirUser names them; readable with the fhirUser scope by their own tokens"}


def subscription_resources(topics: Topics) -> list:
    """Subscription (the backport's profile, each topic's canonical, `$status`) and the topics as
    Basic resources (Subscriptions R5 Backport on R4)."""
    return [
        {"type": "Subscription", "supportedProfile": [SUBSCRIPTION_PROFILE],
         "documentation": "Topic-based subscriptions: rest-hook, id-only payload, each notification signed "
                          "(HMAC-SHA256, Standard Webhooks headers, a secret per subscription), numbered per "
                          "subscription; only topics the token's scopes cover.",
         "extension": [{"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
                               "capabilitystatement-subscriptiontopic-canonical", "valueCanonical": topic.url}
                       for topic in topics.all],
         "interaction": [{"code": code} for code in ("read", "search-type", "create", "delete")],
         "operation": [{"name": "status", "definition": STATUS_OPERATION}]},
        {"type": "Basic", "documentation": "The subscription topics (R5 SubscriptionTopic in R4 Basic resources); "
                                           "no token needed.",
         "interaction": [{"code": "read"}, {"code": "search-type"}]},
    ]


def capability_statement(public_base_url: str, topics: Optional[Topics] = None) -> Dict[str, Any]:
    fhir = f"{public_base_url}/fhir"
    resources = []
    for resource_type, interactions in _INTERACTIONS.items():
        entry: Dict[str, Any] = {
            "type": resource_type, "documentation": _PROFILES[resource_type],
            "interaction": [{"code": code} for code in interactions],
            "versioning": "versioned-update", "readHistory": False, "updateCreate": False,
            "conditionalCreate": False, "conditionalUpdate": False, "conditionalDelete": "not-supported",
        }
        if resource_type in PARAMETERS:
            entry["searchParam"] = [{"name": name, "type": _SEARCH_TYPES[name]}
                                    for name in ["patient", *sorted(PARAMETERS[resource_type])]]
        if resource_type == "Patient":
            entry["operation"] = [{"name": OPERATION.lstrip("$"), "definition": DEFINITION,
                                   "documentation": "All the token may see of its patient: the Patient, then "
                                                    "documents, measures and appointments, paged (_since, _count)."}]
        resources.append(entry)
    if topics is not None:
        resources += subscription_resources(topics)
    return {
        "resourceType": "CapabilityStatement",
        "id": "mes-appstore",
        "url": f"{fhir}/metadata",
        "name": "MonEspaceSanteAppStoreFhir",
        "title": "Mon espace santé: FHIR API for referenced apps",
        "status": "active",
        "experimental": False,
        "date": RELEASE_DATE,
        "publisher": "Mon espace santé",
        "description": "The citizen's documents, measures and agenda, for the apps they consented to.",
        "kind": "instance",
        "software": {"name": "mes-appstore", "version": SOFTWARE_VERSION},
        "implementation": {"description": "Mon espace santé consent broker", "url": fhir},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "Every call needs a SMART App Launch access token; each is checked against the "
                             "citizen's consent and logged in their access history.",
            "security": {
                "cors": True,
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                         "code": "SMART-on-FHIR"}], "text": "OAuth2 using SMART-on-FHIR profile"}],
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [
                        {"url": "authorize", "valueUri": f"{public_base_url}/oauth/authorize"},
                        {"url": "token", "valueUri": f"{public_base_url}/oauth/token"},
                        {"url": "introspect", "valueUri": f"{public_base_url}/oauth/introspect"},
                        {"url": "revoke", "valueUri": f"{public_base_url}/oauth/revoke"},
                        {"url": "manage", "valueUri": f"{public_base_url}/account/consents"},
                    ]}],
            },
            "resource": resources,
            "interaction": [{"code": "transaction"}],
        }],
    }

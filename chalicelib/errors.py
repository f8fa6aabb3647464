"""Domain errors, and the one mapping from an error to an HTTP response body."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from chalice import Response

from chalicelib.responses import json_response

Detail = Dict[str, Any]


def oauth_description(text: str) -> str:
    """A message as an OAuth `error_description` may carry it (RFC 6749 section 5.2: printable
    ASCII without `"` or `\\`): any other character, which could only come from the request, as `?`."""
    return "".join(char if 0x20 <= ord(char) <= 0x7e and char not in '"\\' else "?" for char in text)


class DomainError(Exception):
    """A rule said no. Services raise these; the edge turns them into responses."""

    status = 400
    code = "bad_request"
    oauth_error = "invalid_request"

    def __init__(self, message: str, details: Optional[List[Detail]] = None,
                 headers: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details or [])
        self.headers = dict(headers or {})


class InvalidRequest(DomainError):
    status, code = 400, "bad_request"


class Unauthenticated(DomainError):
    status, code, oauth_error = 401, "unauthenticated", "invalid_client"


class Forbidden(DomainError):
    status, code, oauth_error = 403, "forbidden", "access_denied"


class NotFound(DomainError):
    status, code = 404, "not_found"


class MethodNotAllowed(DomainError):
    status, code = 405, "method_not_allowed"


class Conflict(DomainError):
    status, code = 409, "conflict"


class Gone(DomainError):
    status, code = 410, "gone"


class PreconditionFailed(DomainError):
    status, code = 412, "precondition_failed"


class PayloadTooLarge(DomainError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(DomainError):
    status, code = 415, "unsupported_media_type"


class ValidationFailed(DomainError):
    status, code = 422, "validation_failed"


class TooManyRequests(DomainError):
    status, code, oauth_error = 429, "too_many_requests", "temporarily_unavailable"


class ServiceUnavailable(DomainError):
    status, code, oauth_error = 503, "unavailable", "temporarily_unavailable"


class InternalError(DomainError):
    status, code, oauth_error = 500, "internal_error", "server_error"


# FHIR R4 issue-type codes (http://hl7.org/fhir/valueset-issue-type.html) by HTTP status.
_FHIR_ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
                     405: "not-supported", 409: "conflict", 412: "conflict", 413: "too-costly",
                     415: "not-supported", 422: "processing", 429: "throttled", 500: "exception",
                     503: "transient"}


def flavour_of(path: str) -> str:
    """Which error dialect a path speaks: FHIR, OAuth (RFC 6749) or our JSON."""
    if path == "/fhir" or path.startswith("/fhir/"):
        return "fhir"
    if path.startswith("/oauth/") or path == "/.well-known/oauth-authorization-server":
        return "oauth"
    return "json"


def error_response(path: str, error: DomainError) -> Response:
    """The single place where an error becomes a response body."""
    flavour = flavour_of(path)
    headers = {"Cache-Control": "no-store", **error.headers}
    content_type = "application/json"
    if flavour == "oauth":
        body: Dict[str, Any] = {"error": error.oauth_error, "error_description": error.message}
    elif flavour == "fhir":
        content_type = "application/fhir+json"
        issues: List[Dict[str, Any]] = [{"severity": "error", "code": _FHIR_ISSUE_CODES.get(error.status, "processing"),
                   "diagnostics": error.message}]
        issues += [{"severity": "error", "code": _FHIR_ISSUE_CODES.get(error.status, "processing"),
                    "diagnostics": d.get("message", ""),
                    **({"expression": [d["pointer"]]} if "pointer" in d else {})}
                   for d in error.details]
        body = {"resourceType": "OperationOutcome", "issue": issues}
    else:
        body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    return json_response(body, error.status, headers, content_type)


# Errors that Chalice itself produces before or around a view ({"Code": ..., "Message": ...}).
_FRAMEWORK_ERRORS = {
    "BadRequestError": InvalidRequest, "BadRequest": InvalidRequest,
    "UnauthorizedError": Unauthenticated, "ForbiddenError": Forbidden,
    "NotFoundError": NotFound, "MethodNotAllowedError": MethodNotAllowed,
    "ConflictError": Conflict, "UnprocessableEntityError": ValidationFailed,
    "RequestTimeoutError": InternalError, "UnsupportedMediaType": UnsupportedMediaType,
    "TooManyRequestsError": TooManyRequests, "InternalServerError": InternalError,
}

_FRAMEWORK_MESSAGES = {
    MethodNotAllowed: "This method is not allowed on this path.",
    UnsupportedMediaType: "This content type is not accepted here.",
    InternalError: "An internal error occurred; it has been logged.",
}


def normalize_framework_response(path: str, response: Response) -> Response:
    """Rewrite an error body that Chalice built itself into this API's error shape."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return response
    error_class = _FRAMEWORK_ERRORS.get(body["Code"], InternalError if response.status_code >= 500
                                        else InvalidRequest)
    message = _FRAMEWORK_MESSAGES.get(error_class, str(body["Message"]))
    error = error_class(message, headers={k: str(v) for k, v in response.headers.items()
                                          if k.lower() in ("allow", "access-control-allow-origin")})
    error.status = response.status_code
    return error_response(path, error)

"""The HTTP edge: one wrapper for every view, and the middleware that logs each request."""
from __future__ import annotations

import contextvars
import functools
import json
import time
import uuid
from typing import Any, Callable, Dict, Iterable, List, Optional
from urllib.parse import parse_qs

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import errors
from chalicelib.dynamodb import is_transient
from chalicelib.observability import dynamodb_usage, logger

View = Callable[..., Any]
# Headers that something deeper than the view adds to this request's answer (e.g. an app's quota,
# chalicelib/oauth/quotas.py); the middleware below puts them on the response.
_RESPONSE_HEADERS: contextvars.ContextVar[Optional[Dict[str, str]]] = contextvars.ContextVar(
    "response_headers", default=None)
UNAVAILABLE = errors.ServiceUnavailable("The service is busy; try again in a moment.", headers={"Retry-After": "1"})


def _path_of(request: Optional[Request]) -> str:
    if request is None:
        return "/"
    return request.context.get("resourcePath") or request.path or "/"


ErrorPage = Callable[[errors.DomainError], Response]


class Routes:
    """Registers views on a blueprint, each wrapped so that errors map to responses in one place:
    the API's error bodies (errors.error_response), or, for HTML pages, `error_page`."""

    def __init__(self, blueprint: Blueprint, error_page: Optional[ErrorPage] = None) -> None:
        self.blueprint = blueprint
        self.error_page = error_page

    @property
    def request(self) -> Request:
        return self.blueprint.current_request

    def route(self, path: str, **options: Any) -> Callable[[View], View]:
        def register(view: View) -> View:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                try:
                    return view(*args, **kwargs)
                except errors.DomainError as error:
                    return self._answer(error)
                except Exception as error:  # noqa: BLE001 - the one place an unexpected error is logged
                    if is_transient(error):  # throttled, or failed after botocore's retries
                        logger.warning("DynamoDB unavailable", extra={"route": path, "error": repr(error)[:300]})
                        return self._answer(UNAVAILABLE)
                    logger.exception("unhandled error", extra={"route": path})
                    return self._answer(errors.InternalError("An internal error occurred; it has been logged."))
            self.blueprint.route(path, **options)(guarded)
            return guarded
        return register

    def _answer(self, error: errors.DomainError) -> Response:
        if self.error_page is not None:
            try:
                return self.error_page(error)
            except Exception:  # noqa: BLE001 - an error page that fails falls back to the plain answer
                logger.exception("error page failed", extra={"status": error.status})
        return errors.error_response(_path_of(self.request), error)

    def json_body(self) -> Any:
        return read_json_body(self.request)

    def header(self, name: str) -> Optional[str]:
        return self.request.headers.get(name)

    def query(self, allowed: Iterable[str]) -> Dict[str, str]:
        """The query string as a dict; a repeated or unknown parameter is a clear 400."""
        allowed = set(allowed)
        params = self.request.query_params
        if not params:
            return {}
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise errors.InvalidRequest(
                f"Unknown query parameter: {', '.join(unknown)}.",
                [{"parameter": name, "message": f"allowed: {', '.join(sorted(allowed))}"}
                 for name in unknown])
        repeated = sorted(name for name in params if len(params.getlist(name)) > 1)
        if repeated:
            raise errors.InvalidRequest(f"Query parameter given more than once: {', '.join(repeated)}.")
        return dict(params)


def query_lists(request: Request) -> Dict[str, List[str]]:
    """Every query parameter with all its values, in order (FHIR and OAuth keep repeated ones)."""
    params = request.query_params
    if not params:
        return {}
    return {name: list(params.getlist(name)) for name in params}


def query_values(request: Request) -> Dict[str, str]:
    """The query parameters, each with its last value (pages, where a repeat means nothing)."""
    return {name: values[-1] for name, values in query_lists(request).items()}


MAX_FORM_BYTES = 16 * 1024  # far beyond any form of ours: a consent form with every scope is ~2 KB


def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> Dict[str, List[str]]:
    """An `application/x-www-form-urlencoded` body, every field with all its values; larger than
    `max_bytes` is a 413 (never a silently empty form)."""
    raw = request.raw_body or b""
    if len(raw) > max_bytes:
        raise errors.PayloadTooLarge(f"The form is {len(raw)} bytes; at most {max_bytes} are accepted.")
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return parse_qs(text, keep_blank_values=True)


MAX_BODY_BYTES = 256 * 1024
MAX_NESTING = 64  # far beyond any resource or listing; deeper only serves to exhaust the stack
_TOO_DEEP = f"The body nests objects and arrays more than {MAX_NESTING} deep."


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")  # Python's json would accept NaN and Infinity


def read_json_body(request: Request, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The request's JSON object; too large, malformed or not an object is a clear 4xx."""
    raw = request.raw_body or b""
    if len(raw) > max_bytes:
        raise errors.PayloadTooLarge(f"The body is {len(raw)} bytes; at most {max_bytes} are accepted.")
    if not raw.strip():
        raise errors.InvalidRequest("A JSON body is required.")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise errors.InvalidRequest(f"The body is not valid JSON: {error}.") from None
    except RecursionError:  # nested past Python's own limit
        raise errors.InvalidRequest(_TOO_DEEP) from None
    if _nesting(body) > MAX_NESTING:
        raise errors.InvalidRequest(_TOO_DEEP)
    if not isinstance(body, dict):
        raise errors.InvalidRequest("The body must be a JSON object.")
    return body


def _nesting(value: Any) -> int:
    """How deep objects and arrays nest in a parsed JSON value (iteratively: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children)
    return deepest


def add_response_headers(headers: Dict[str, str]) -> None:
    """Have the answer to the current request carry `headers` (the view's own win)."""
    pending = _RESPONSE_HEADERS.get()
    if pending is not None:
        pending.update(headers)


def log_request(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice HTTP middleware: one JSON log line per request, with what DynamoDB said it cost."""
    started = time.perf_counter()
    request_id = (event.context.get("requestId") if event is not None else None) or str(uuid.uuid4())
    path = _path_of(event)
    pending: Dict[str, str] = {}
    reset = _RESPONSE_HEADERS.set(pending)
    try:
        with dynamodb_usage() as usage:
            response = get_response(event)
    finally:
        _RESPONSE_HEADERS.reset(reset)
    response = errors.normalize_framework_response(path, response)
    for name, value in pending.items():
        response.headers.setdefault(name, value)
    response.headers["X-Request-Id"] = request_id
    logger.info("request", extra={
        "request_id": request_id,
        "method": event.method if event is not None else None,
        "route": path,
        "path": event.path if event is not None else None,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "dynamodb": usage.summary(),
    })
    return response

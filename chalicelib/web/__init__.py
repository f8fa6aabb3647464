"""Server-rendered pages: Jinja2 templates, security headers, the session cookie."""
from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, Optional

from chalice import Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

SESSION_COOKIE = "mes_session"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                       autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def page(template: str, context: Dict[str, Any], status: int = 200, form_targets: Iterable[str] = (),
         headers: Optional[Dict[str, str]] = None) -> Response:
    """An HTML page that cannot be framed, loads nothing from elsewhere and posts only to us
    (and, after our redirect, to the app's registered redirect URI)."""
    nonce = secrets.token_urlsafe(16)
    body = _environment().get_template(template).render(nonce=nonce, **context)
    form_action = " ".join(["'self'", *form_targets])
    return Response(body=body, status_code=status, headers={
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (f"default-src 'none'; style-src 'nonce-{nonce}'; img-src https: data:; "
                                    f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"),
        "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store", **(headers or {})})


def session_cookie(session_id: str, secure: bool, max_age: int = 1800) -> str:
    return (f"{SESSION_COOKIE}={session_id}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
            + ("; Secure" if secure else ""))


def cookie_value(cookie_header: Optional[str], name: str = SESSION_COOKIE) -> Optional[str]:
    for part in (cookie_header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None

"""Server-rendered pages: Jinja2 templates, security headers, the session cookie."""
from __future__ import annotations

import base64
import hashlib
import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, Optional
from urllib.parse import urlsplit

from chalice import Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup, escape
from jinja2.runtime import Context

from chalicelib.responses import conditional
from chalicelib.web import i18n

SESSION_COOKIE = "mes_session"
MAX_LOCAL_PATH = 4096  # a `next` may carry a whole authorization request


def is_local_path(value: Optional[str]) -> bool:
    """Whether a return address (`next`) is a page of this site, so that redirecting to it is no
    open redirect: one leading `/`, not `//host` nor `/\\host` (some browsers read a backslash as a
    slash), no whitespace or control character (browsers strip them, turning `/\t/host` into
    `//host`), and nothing outside ASCII (a `Location` header carries ASCII only; our own paths
    are percent-encoded)."""
    if not value:
        return False
    return len(value) <= MAX_LOCAL_PATH and value.startswith("/") and \
        not value.startswith("//") and "\\" not in value and \
        all(0x20 < ord(char) < 0x7f for char in value) and \
        not urlsplit(value).netloc


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL: what a CSP source or a same-site check compares."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pass_context
def _translate(context: Context, key: str, **values: object) -> str:
    lang = context.get("lang") or i18n.DEFAULT_LANGUAGE
    return i18n.translate(key, lang, **_dated(values, lang))


def _dated(values: Dict[str, object], lang: str) -> Dict[str, object]:
    """The values with each date written in `lang`, and each {"fr": ..., "en": ...} in `lang` (a
    sentence in both languages gets each its own)."""
    def written(value: object) -> object:
        if isinstance(value, (date, datetime)):
            return i18n.long_date(value, lang)
        if isinstance(value, dict) and lang in value:
            return value[lang]
        return value
    return {name: written(value) for name, value in values.items()}


def _kind_words(kinds: object) -> Dict[str, str]:
    """A proxy's kinds of data in words, in each language ("mesures, agenda")."""
    return {lang: ", ".join(i18n.translate(f"proxy.kind.{kind}", lang) for kind in kinds or ())  # type: ignore[attr-defined]
            for lang in i18n.LANGUAGES}


def _both(key: str, **values: object) -> Markup:
    """A sentence in French, then in English beside it: for the pages of the authorization flow,
    shown before the citizen could choose a language."""
    french, english = (escape(i18n.translate(key, lang, **_dated(values, lang))) for lang in ("fr", "en"))
    return Markup(f'{french}<span class="en" lang="en">{english}</span>')  # noqa: S704 - both parts escaped


def _in(lang: str, key: str, **values: object) -> str:
    """A sentence in a language named by the template (the flows show both)."""
    return i18n.translate(key, lang, **values)


def _both_plain(key: str, **values: object) -> str:
    """The same, as plain text ("Autoriser X · Allow X"): for a title."""
    return f"{i18n.translate(key, 'fr', **_dated(values, 'fr'))} · {i18n.translate(key, 'en', **_dated(values, 'en'))}"


@pass_context
def _in_language(context: Context, value: object) -> str:
    return i18n.in_language(value, context.get("lang") or i18n.DEFAULT_LANGUAGE)


@pass_context
def _long_date(context: Context, value: object) -> str:
    return i18n.long_date(value, context.get("lang") or i18n.DEFAULT_LANGUAGE)


@pass_context
def _number(context: Context, value: object) -> str:
    return i18n.number(value, context.get("lang") or i18n.DEFAULT_LANGUAGE)


def ink(colour: str) -> str:
    """The text colour (near-black or white) that contrasts most with a background colour."""
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    background = luminance(colour)
    on_white = (1.05) / (background + 0.05)
    on_dark = (background + 0.05) / (luminance("#161616") + 0.05)
    return "#ffffff" if on_white > on_dark else "#161616"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                              autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    environment.globals.update(t=_translate, t_in=_in, both=_both, both_plain=_both_plain, kind_words=_kind_words)
    environment.filters.update(lang=_in_language, long_date=_long_date, number=_number, ink=ink)
    return environment


_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _hashes(blocks: Iterable[str]) -> str:
    return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'"
                    for block in blocks)


def page(template: str, context: Dict[str, Any], status: int = 200, form_targets: Iterable[str] = (),
         headers: Optional[Dict[str, Any]] = None, cache_control: str = "no-store",
         if_none_match: Optional[str] = None) -> Response:
    """An HTML page that cannot be framed, loads nothing from elsewhere (not even images: app logos
    would tell their publishers who reads the catalogue) and posts only to us (and, after our
    redirect, to the app's registered redirect URI). Its styles (and inline scripts, if any) are
    allowed by their hash, not by a nonce, so that the same page is the same bytes: with
    `cache_control` other than no-store it carries an ETag, and 304 answers a client that holds it."""
    context = {"lang": i18n.DEFAULT_LANGUAGE, **context}
    body = _environment().get_template(template).render(**context)
    styles = _hashes(_STYLE.findall(body)) or "'none'"
    # A page works without script; the few that help where the browser alone can (a file too large
    # for its upload, caught before it leaves), their scripts are allowed by hash, inline only.
    scripts = _hashes(_SCRIPT.findall(body))
    form_action = " ".join(["'self'", *form_targets])
    security = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Language": context["lang"],
        "Content-Security-Policy": (f"default-src 'none'; style-src {styles}; img-src data:; "
                                    + (f"script-src {scripts}; " if scripts else "") +
                                    f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"),
        "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin", "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        **(headers or {})}
    if cache_control == "no-store":
        return Response(body=body, status_code=status, headers={**security, "Cache-Control": "no-store"})
    return conditional(body, if_none_match, cache_control, security, status)


def session_cookie(session_id: str, secure: bool, max_age: int = 1800) -> str:
    return (f"{SESSION_COOKIE}={session_id}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
            + ("; Secure" if secure else ""))


def cleared_session_cookie(secure: bool) -> str:
    return session_cookie("", secure, max_age=0)


def cookie_value(cookie_header: Optional[str], name: str = SESSION_COOKIE) -> Optional[str]:
    for part in (cookie_header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None

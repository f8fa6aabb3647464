"""The pages' language rules and the small formatting they rely on."""
import pytest

from chalicelib.pages.account import safe_next
from chalicelib.web import ink
from chalicelib.web.i18n import long_date, messages, negotiate, number


@pytest.mark.parametrize("asked, remembered, accept, expected", [
    (None, None, None, "fr"),
    (None, None, "en-US,en;q=0.9", "en"),
    (None, None, "fr-FR,fr;q=0.9,en;q=0.8", "fr"),
    (None, None, "de-DE,en;q=0.5,fr;q=0.4", "en"),
    (None, None, "en;q=0", "fr"),
    (None, None, "*", "fr"),
    (None, "en", "fr-FR", "en"),
    ("fr", "en", "en", "fr"),
    ("xx", None, "en", "en"),
])
def test_language_negotiation(asked, remembered, accept, expected):
    assert negotiate(asked, remembered, accept) == expected


def test_every_sentence_exists_in_both_languages():
    incomplete = [key for key, entry in messages().items() if not (entry.get("fr") and entry.get("en"))]
    assert not incomplete


def test_numbers_and_dates_read_as_citizens_expect():
    assert number(99.1, "fr") == "99,1" and number(99.1, "en") == "99.1" and number(100.0, "fr") == "100"
    assert number(0.0000123, "en") == "0.0000123"
    assert long_date("2026-03-01T10:00:00+00:00", "fr") == "1er mars 2026"
    assert long_date("2026-03-12T10:00:00+00:00", "en") == "12 March 2026"


@pytest.mark.parametrize("colour, text", [("#038141", "#ffffff"), ("#fecb02", "#161616"), ("#e63e11", "#161616")])
def test_badge_text_takes_the_more_contrasting_ink(colour, text):
    assert ink(colour) == text


@pytest.mark.parametrize("value, expected", [
    ("/account/consents", "/account/consents"), ("/oauth/authorize?a=1&b=2", "/oauth/authorize?a=1&b=2"),
    ("//evil.example", "/account/consents"), ("/\\evil.example", "/account/consents"),
    ("https://evil.example/", "/account/consents"), (None, "/account/consents"), ("/a b", "/account/consents"),
])
def test_next_is_a_local_path_only(value, expected):
    assert safe_next(value) == expected


def test_every_sentence_a_template_names_is_in_the_catalogue():
    """The pages, the consent and sign-in pages and the error page read every sentence from
    messages.json (French and English): a key named in a template and missing there would show
    the key itself."""
    import re
    from pathlib import Path

    from chalicelib.consent.service import DURATIONS
    templates = Path(__file__).resolve().parents[2] / "chalicelib" / "web" / "templates"
    named = set()
    for template in templates.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        named |= set(re.findall(r'\b(?:t|both|both_plain)\("([a-z0-9_.]+)"', text))
        named |= set(re.findall(r'\bt_in\("[a-z]{2}", "([a-z0-9_.]+)"', text))
    named = {key for key in named if not key.endswith(".")}  # "x." ~ value: a family, checked where it is built
    named |= {f"consent.duration.{value}" for value in DURATIONS}
    assert {"consent.asks", "login.who", "error.code"} <= named
    assert sorted(named - set(messages())) == []

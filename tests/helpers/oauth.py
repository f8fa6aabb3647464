"""The SMART authorization code flow as a client and a citizen's browser go through it: PKCE, the
authorize URL, the consent form read and submitted, the code exchanged, tokens refreshed, form
posts to the OAuth endpoints."""
import base64
import hashlib
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

SANDBOX = "demo-sandbox"
REDIRECT = "http://127.0.0.1:9999/callback"
FHIR = "https://testserver/fhir"
OFFLINE = "launch/patient patient/Observation.rs offline_access"


class FormReader(HTMLParser):
    """The fields a browser would submit: hidden inputs, ticked boxes, selected options."""

    def __init__(self):
        super().__init__()
        self.fields, self.checkboxes, self.buttons, self._select = [], [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields.append((attrs["name"], attrs.get("value", "")))
        elif tag == "input" and attrs.get("type") in ("checkbox", "radio"):
            self.checkboxes.append((attrs["name"], attrs["value"], "checked" in attrs))
        elif tag == "button":
            self.buttons.append((attrs.get("name"), attrs.get("value")))
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and "selected" in attrs and self._select:
            self.fields.append((self._select, attrs["value"]))


def read_form(html):
    reader = FormReader()
    reader.feed(html)
    return reader


def submitted_fields(html, untick=()):
    """What a browser posts for the page's form, the boxes in `untick` unticked (no button)."""
    form = read_form(html)
    return list(form.fields) + [(n, v) for n, v, checked in form.checkboxes if checked and v not in untick]


def submit(browser, base, html, **extra):
    """The citizen submits the page's form (as a browser would), with `extra` fields: `browser` is
    a requests session, `base` the server's URL."""
    return browser.post(f"{base}/oauth/authorize", data=submitted_fields(html) + list(extra.items()),
                        allow_redirects=False)


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(challenge, **overrides):
    params = {"response_type": "code", "client_id": SANDBOX, "redirect_uri": REDIRECT,
              "scope": "launch/patient patient/Observation.rs patient/DocumentReference.read",
              "state": "st-123", "aud": FHIR, "code_challenge": challenge, "code_challenge_method": "S256",
              **overrides}
    return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def cookie_of(response):
    return response.headers["Set-Cookie"].split(";")[0]


def signed_in(client, url, headers=None):
    """GET the authorization URL and, where it shows the demo identity picker (a `login_hint` only
    pre-selects someone: it never signs in), submit the picker as the citizen would. The answer
    that follows: the consent page, or the redirect to the app; it sets the session's cookie."""
    page = client.get(url, headers=headers or {})
    if page.status_code != 200 or b'name="login_hint"' not in page.body:
        return page
    cookie = cookie_of(page) if "Set-Cookie" in page.headers else (headers or {}).get("Cookie", "")
    return client.post("/oauth/authorize", body=urlencode(submitted_fields(page.body.decode())), headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})


def consent(client, challenge, untick=(), decision="allow", **overrides):
    page = signed_in(client, authorize_url(challenge, login_hint="demo-alice", **overrides))
    assert page.status_code == 200, page.body
    fields = submitted_fields(page.body.decode(), untick)
    fields.append(("decision", decision))
    return client.post("/oauth/authorize", body=urlencode(fields), headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_of(page)}), page


def redirect_params(response):
    assert response.status_code == 302, response.body
    location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(client, code, verifier, **extra):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": SANDBOX,
            "code_verifier": verifier, **extra}
    return client.post("/oauth/token", body=urlencode(form),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def offline_tokens(client, scope=OFFLINE):
    verifier, challenge = pkce()
    code = redirect_params(consent(client, challenge, scope=scope)[0])["code"]
    response = exchange(client, code, verifier)
    assert response.status_code == 200, response.body
    return response.json_body


def two_authorizations(client, scope=OFFLINE):
    """Two token families of one consent: the consent page once, then a second authorization
    that the active consent lets through without a page (the same consent generation)."""
    verifier, challenge = pkce()
    response, page = consent(client, challenge, scope=scope)
    first = exchange(client, redirect_params(response)["code"], verifier).json_body
    verifier, challenge = pkce()
    again = client.get(authorize_url(challenge, scope=scope), headers={"Cookie": cookie_of(page)})
    second = exchange(client, redirect_params(again)["code"], verifier).json_body
    return first, second


def refresh(client, token, **extra):
    return client.post("/oauth/token", body=urlencode({"grant_type": "refresh_token", "refresh_token": token,
                                                       "client_id": SANDBOX, **extra}),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def form_post(client, path, **fields):
    return client.post(path, body=urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"})

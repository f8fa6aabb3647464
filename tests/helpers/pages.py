"""The citizen's pages as a reader and a browser meet them: the page's text, its cookies and CSRF
token, and signing in (through the sign-in page, or the demo sign-in of the consent page)."""
import html as html_text
import re
from urllib.parse import urlencode

from tests.helpers.oauth import authorize_url, cookie_of, pkce, signed_in

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def html(response):
    """The page as its reader sees it (entities decoded: l&#39;accès is l'accès; the no-break
    spaces of French typography read as spaces)."""
    return html_text.unescape(response.body.decode("utf-8")).replace("\u00a0", " ")


def cookie_pair(response, name="mes_session"):
    values = response.headers.get("Set-Cookie") or []
    for value in [values] if isinstance(values, str) else values:
        if value.startswith(f"{name}="):
            return value.split(";")[0]
    return None


def csrf_of(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', html(page)).group(1)


def sign_in(client, who="demo-alice", next_path="/account/consents"):
    page = client.get("/account/sign-in?" + urlencode({"next": next_path}))
    cookie = cookie_pair(page)
    answer = client.post("/account/sign-in", headers={**FORM, "Cookie": cookie}, body=urlencode(
        {"csrf_token": csrf_of(page), "login_hint": who, "next": next_path}))
    assert answer.status_code == 303, answer.body
    return answer, cookie_pair(answer)


def session_cookie(client, patient):
    """A citizen's session cookie at the broker, from the demo sign-in of the consent page."""
    _, challenge = pkce()
    page = signed_in(client, authorize_url(challenge, login_hint=patient, prompt="consent"))
    return cookie_of(page)

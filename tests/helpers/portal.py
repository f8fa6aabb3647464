"""The referencing portal as a browser meets it, through Chalice's test client: the demo sign-in
of a publisher or reviewer, the CSRF token of a page, and a listing document as the fields its
form posts."""
import json
import re
from urllib.parse import urlencode

from chalicelib.portal.listing_form import form_from_document
from tests.helpers.pages import FORM, cookie_pair, html
from tests.helpers.project import PROJECT

WALKTHROUGH = PROJECT / "catalog" / "demo" / "walkthrough"


def walkthrough(name):
    return json.loads((WALKTHROUGH / name).read_text(encoding="utf-8"))


def csrf_in(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', html(page)).group(1)


def etag_in(page):
    """The ETag the form carries (its quotes are entities in the page)."""
    import html as entities
    return entities.unescape(re.search(r'name="etag" value="([^"]+)"', page.body.decode("utf-8")).group(1))


def portal_sign_in(client, person):
    """A portal session cookie for `person` (`publisher:newcomer`, `reviewer:commission`...)."""
    page = client.get("/portal/sign-in")
    cookie = cookie_pair(page, "mes_portal")
    answer = client.post("/portal/sign-in", headers={**FORM, "Cookie": cookie},
                         body=urlencode({"csrf_token": csrf_in(page), "person": person, "next": "/portal"}))
    assert answer.status_code == 303, answer.body
    return cookie_pair(answer, "mes_portal")


def listing_fields(document, **changes):
    """The (name, value) pairs the listing form posts for a document."""
    values, _ = form_from_document(document)
    pairs = []
    for name, value in {**values, **changes}.items():
        if name.startswith("platforms."):
            pairs.append(("platforms", name.split(".", 1)[1]))
        elif value is not None:
            pairs.append((name, value))
    return pairs


def post_form(client, path, cookie, pairs, csrf):
    return client.post(path, headers={**FORM, "Cookie": cookie}, body=urlencode([("csrf_token", csrf), *pairs]))

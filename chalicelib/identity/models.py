"""The identity domain's items in the grants table (chalicelib/grants.py): citizens' sessions and
the links from an upstream identity to a citizen."""
from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.grants import GrantItem


class SessionItem(GrantItem, discriminator="session"):
    """A citizen's sign-in at the authorization server (cookie holds the random id only)."""

    patient_id = UnicodeAttribute(null=True)
    csrf_token = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    # Who vouched for the citizen: the upstream OIDC issuer, or "demo" for the local picker.
    signed_in_by = UnicodeAttribute(null=True)
    id_token_hint = UnicodeAttribute(null=True)  # the upstream ID token, for the provider's logout
    # An upstream sign-in under way (state, nonce, PKCE verifier, where to go back): one use only.
    signin_state = UnicodeAttribute(null=True)
    signin_nonce = UnicodeAttribute(null=True)
    signin_verifier = UnicodeAttribute(null=True)
    signin_next = UnicodeAttribute(null=True)
    signin_started_at = UTCDateTimeAttribute(null=True)
    # Whose space the pages show, when the citizen switched to someone they act for ("Mes proches").
    acting_for = UnicodeAttribute(null=True)
    # Who the provider says the citizen is (FranceConnect's identity: first names, birth name, birth
    # date), when it said so: what a proxy invitation is matched against (decision 0019).
    given_name = UnicodeAttribute(null=True)
    family_name = UnicodeAttribute(null=True)
    birth_date = UnicodeAttribute(null=True)


class CitizenLink(GrantItem, discriminator="citizen"):
    """An upstream identity (issuer, sub), keyed by their hash (`citizen#sha256(issuer + "\n" +
    sub)`), and the citizen's internal id. Durable: no `expires_at`, so the table's TTL never
    removes it (the table has point-in-time recovery and is retained).
    docs/decisions/0009-citizen-sign-in-upstream.md."""

    patient_id = UnicodeAttribute()
    issuer = UnicodeAttribute()
    linked_at = UTCDateTimeAttribute()


class PortalSessionItem(SessionItem, discriminator="portal_session"):
    """A publisher's or reviewer's sign-in at the referencing portal: a session of its own kind,
    keyed `portal#sha256(id)` (never `session#`), behind its own cookie, so that it never signs a
    citizen in and a citizen's session never opens the portal. The principal it signs in is kept
    whole, as the JSON API's bearer tokens carry it (docs/decisions/0016-portal-sign-in-and-roles.md)."""

    role = UnicodeAttribute(null=True)  # publisher | reviewer, once signed in
    subject = UnicodeAttribute(null=True)
    issuer = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    siret = UnicodeAttribute(null=True)  # the publisher's organisation

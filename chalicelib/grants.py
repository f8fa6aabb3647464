"""The grants table: short-lived state keyed by a hash (sign-in sessions, authorization codes,
refresh tokens, quota windows) and a few durable items (citizen links, keys). Each domain declares
its own kinds of item on this base (identity/models.py, oauth/models.py, ...)."""
from __future__ import annotations

import hashlib

from pynamodb.attributes import DiscriminatorAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import settings
from chalicelib.dynamodb import TableMeta


def grant_key(kind: str, secret: str) -> str:
    """Secrets (codes, session ids, refresh tokens) are never stored: only their SHA-256."""
    return f"{kind}#{hashlib.sha256(secret.encode()).hexdigest()}"


class GrantItem(Model):
    class Meta(TableMeta):
        table_name = settings.grants_table

    grant_key = UnicodeAttribute(hash_key=True)
    kind = DiscriminatorAttribute()
    # DynamoDB removes expired items, and reads check the time too. Absent on the durable items
    # (citizen links, the claim data key), which the TTL therefore never removes.
    expires_at = TTLAttribute(null=True)

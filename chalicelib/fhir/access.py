"""Who is calling the FHIR API, for which patient, allowed to do what: from the bearer token alone.

The token is verified locally (pinned ES256, the broker's keys, `iss`, `aud`, `exp`); that the
consent still stands, the token family is not revoked and the app is still published is checked
by the gate (gate.py), with strongly consistent reads, before the access is recorded."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import FrozenSet, Optional, Tuple

import jwt

from chalicelib.ids import is_app_id
from chalicelib.bearer import bearer_token, challenge
from chalicelib.errors import Forbidden, Unauthenticated
from chalicelib.oauth.claims import (ACTING_AS_CLAIM, ACTOR_CLAIM, APP_EPOCH_CLAIM, FAMILY_CLAIM, SEALED_CLAIM,
                                     ClaimSeal, SealError)
from chalicelib.oauth.keys import TokenKeys
from chalicelib.oauth.scopes import DataScope, InvalidScope, ScopeRequest, categories_allowed

INTERACTION_PERMISSION = {"read": "r", "search": "s", "create": "c", "update": "u", "delete": "d"}


def invalid_token(description: str) -> Unauthenticated:
    return Unauthenticated(description, headers=challenge("fhir", "invalid_token", description))


def insufficient_scope(description: str, needed: str) -> Forbidden:
    """403 with the challenge naming the scope(s) that would have allowed the call (RFC 6750 3.1)."""
    return Forbidden(description, headers=challenge("fhir", "insufficient_scope", scope=needed))


@dataclass(frozen=True)
class Permission:
    """What a token allows on one resource type for one interaction: everything, or only some
    categories (granular scopes such as `patient/Observation.rs?category=vital-signs`, or the same
    with the category's system, `?category=<system>|vital-signs`: codes here, see oauth/scopes.py)."""

    categories: Optional[FrozenSet[str]]  # None: all categories

    def covers(self, category: Optional[str]) -> bool:
        return self.categories is None or (category is not None and category in self.categories)


@dataclass(frozen=True)
class AccessGrant:
    app_id: str
    pairwise_id: str
    patient_id: str  # internal: for keys only, never shown
    generation: int
    scopes: Tuple[DataScope, ...]
    scope_text: str
    app_epoch: int  # the app's token epoch when the token was issued (AppHead.token_epoch)
    family_id: Optional[str] = None  # the token family (revoked as one); None in tokens made before families
    # Someone acting for the patient (decision 0018): their internal id (for the access history)
    # and capacity; a representative does not see what the patient hid from their representatives.
    actor_id: Optional[str] = None
    acting_as: Optional[str] = None

    @property
    def for_representative(self) -> bool:
        return self.acting_as == "representative"

    def sees(self, item) -> bool:
        """Whether this token may see a record item at all: not a document hidden from apps, nor,
        for a representative, one the patient hid from their representatives."""
        return not item.hidden and not (self.for_representative and item.hidden_from_representatives)

    def permission(self, resource_type: str, interaction: str) -> Permission:
        """The permission, or 403 insufficient_scope."""
        letter = INTERACTION_PERMISSION[interaction]
        categories = categories_allowed(self.scopes, resource_type, letter)
        if categories is None or categories:
            return Permission(categories)
        needed = f"patient/{resource_type}.{letter}"
        raise insufficient_scope(f"The access token does not allow {interaction} on {resource_type} "
                                 f"(needs {needed}).", needed)


class TokenVerifier:
    """Access tokens verified once per warm container: an app presents the same token for many
    calls, and verifying it (ES256, the sealed claim, the scopes) is most of our own time in a call.
    A verified token is kept until it expires (at most MAX_VERIFIED_TOKENS, the least recently used
    leaving first) or its signing key is retired (an emergency rotation, oauth/keys.py); everything
    else that can end it sooner (consent, revocation, suspension) is checked by the gate on every
    call, not here."""

    MAX_VERIFIED_TOKENS = 4096

    def __init__(self, keys: Optional[TokenKeys], seal: Optional[ClaimSeal], issuer: str, audience: str) -> None:
        self.keys, self.seal, self.issuer, self.audience = keys, seal, issuer, audience
        self._verified: "OrderedDict[str, Tuple[AccessGrant, float, str]]" = OrderedDict()  # grant, exp, kid
        self._lock = threading.Lock()  # one request at a time in Lambda; tests call from threads

    def grant_of(self, authorization: Optional[str]) -> AccessGrant:
        token = bearer_token(authorization, "fhir")
        with self._lock:
            known = self._verified.get(token)
            if known is not None:
                if known[1] > time.time() and self.keys is not None and self.keys.publishes(known[2]):
                    self._verified.move_to_end(token)
                    return known[0]
                del self._verified[token]
        grant, expires = self._verify(token)  # raises for an expired token, as for any invalid one
        with self._lock:
            self._verified[token] = (grant, expires, jwt.get_unverified_header(token)["kid"])
            if len(self._verified) > self.MAX_VERIFIED_TOKENS:
                self._verified.popitem(last=False)
        return grant

    def _verify(self, token: str) -> Tuple[AccessGrant, float]:
        if self.keys is None or self.seal is None:
            raise invalid_token("This server cannot verify tokens: no key is configured.")
        try:
            claims = self.keys.verify(token, self.audience, self.issuer, typ="at+jwt",
                                      required=("exp", "iat", "iss", "aud", "sub", "client_id", "patient"))
        except jwt.ExpiredSignatureError:
            raise invalid_token("The access token has expired.") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise invalid_token("The access token is not valid here.") from None
        app_id = claims["client_id"]
        if not isinstance(app_id, str) or not is_app_id(app_id):
            raise invalid_token("The access token is not valid here.")
        try:
            patient_id = self.seal.unseal(claims.get(SEALED_CLAIM), app_id)
            scopes = ScopeRequest.parse(str(claims.get("scope", ""))).data
        except (SealError, InvalidScope):
            raise invalid_token("The access token is not valid here.") from None
        generation, epoch = claims.get("consent_generation"), claims.get(APP_EPOCH_CLAIM, 0)
        family = claims.get(FAMILY_CLAIM)
        if not isinstance(generation, int) or not isinstance(epoch, int) or not isinstance(family, (str, type(None))):
            raise invalid_token("The access token is not valid here.")
        actor_id, acting_as = None, claims.get(ACTING_AS_CLAIM)
        if acting_as is not None:  # someone acting for the patient: sealed like the patient
            try:
                actor_id = self.seal.unseal(claims.get(ACTOR_CLAIM), app_id)
            except SealError:
                raise invalid_token("The access token is not valid here.") from None
            if acting_as not in ("representative", "proxy"):
                raise invalid_token("The access token is not valid here.")
        return AccessGrant(app_id, str(claims["patient"]), patient_id, generation, scopes, str(claims.get("scope", "")),
                           epoch, family, actor_id, acting_as), float(claims["exp"])


"""Who is calling the JSON APIs: bearer JWTs from trusted issuers, verified locally."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

import jwt

from chalicelib.bearer import bearer_token, challenge
from chalicelib.errors import Forbidden, Unauthenticated
from chalicelib.identity.demo import demo_issuer_spec

ROLES = ("publisher", "reviewer")
# Asymmetric algorithms only: a shared-secret algorithm would let anyone holding the key mint tokens.
ALLOWED_ALGORITHMS = ("ES256", "RS256", "PS256")


@dataclass(frozen=True)
class Principal:
    subject: str
    issuer: str
    role: str
    name: str
    organisation_siret: Optional[str] = None

    @property
    def siret(self) -> str:
        """The publisher's organisation (refused for anyone else: only publishers carry one)."""
        if self.organisation_siret is None:
            raise Forbidden("Only a publisher, for an organisation, may do this.")
        return self.organisation_siret

    def as_actor(self) -> Dict[str, Any]:
        """How this person appears in a history entry."""
        return {"subject": self.subject, "issuer": self.issuer, "role": self.role, "name": self.name,
                **({"siret": self.organisation_siret} if self.organisation_siret else {})}


@dataclass
class TrustedIssuer:
    """An OIDC issuer whose tokens we accept, with either a JWKS document or its URL."""

    issuer: str
    audience: str
    algorithms: Sequence[str] = ("ES256", "RS256")
    jwks: Optional[Mapping[str, Any]] = None
    jwks_uri: Optional[str] = None
    _client: Optional[jwt.PyJWKClient] = field(default=None, repr=False)

    def signing_key(self, token: str) -> Any:
        if self.jwks is not None:
            kid = jwt.get_unverified_header(token).get("kid")
            keys = jwt.PyJWKSet.from_dict(dict(self.jwks)).keys
            for key in keys:
                if kid is None or key.key_id == kid:
                    return key.key
            raise jwt.InvalidTokenError("no key of the issuer matches the token's kid")
        if self.jwks_uri is None:
            raise jwt.InvalidTokenError("the issuer has no keys configured")
        if self._client is None:
            # PyJWKClient caches the issuer's keys between warm invocations.
            self._client = jwt.PyJWKClient(self.jwks_uri, cache_keys=True, lifespan=3600, timeout=5)
        return self._client.get_signing_key_from_jwt(token).key


def _challenge(error: str, description: str) -> Dict[str, str]:
    return challenge(REALM, error, description)


REALM = "mes-appstore"


class IdentityService:
    def __init__(self, issuers: List[TrustedIssuer]) -> None:
        self.issuers = {issuer.issuer: issuer for issuer in issuers}

    def authenticate(self, authorization: Optional[str], role: str) -> Principal:
        """The caller behind an `Authorization: Bearer` header, who must hold `role`."""
        principal = self._verify(bearer_token(authorization, REALM))
        if principal.role != role:
            raise Forbidden(f"This needs the {role} role; the token is for a {principal.role}.",
                            headers=_challenge("insufficient_scope", f"requires role {role}"))
        return principal

    def _verify(self, token: str) -> Principal:
        try:
            claimed_issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
            issuer = self.issuers.get(claimed_issuer) if isinstance(claimed_issuer, str) else None
            if issuer is None:
                raise jwt.InvalidIssuerError("issuer not trusted")
            algorithms = [a for a in issuer.algorithms if a in ALLOWED_ALGORITHMS]
            claims = jwt.decode(token, issuer.signing_key(token), algorithms=algorithms,
                                audience=issuer.audience, issuer=issuer.issuer, leeway=30,
                                options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except (jwt.PyJWTError, ValueError) as error:
            raise Unauthenticated("The bearer token is invalid or expired.",
                                  headers=_challenge("invalid_token", str(error))) from None
        role = claims.get("role")
        siret = claims.get("siret")
        if role not in ROLES or (role == "publisher" and not (isinstance(siret, str) and siret.isdigit()
                                                               and len(siret) == 14)):
            raise Unauthenticated("The token carries no usable role (publisher with a SIRET, or reviewer).",
                                  headers=_challenge("invalid_token", "missing role or siret"))
        return Principal(subject=str(claims["sub"]), issuer=issuer.issuer, role=role,
                         name=str(claims.get("name") or claims.get("email") or claims["sub"]),
                         organisation_siret=siret if role == "publisher" else None)


def identity_service_for(settings: Any) -> IdentityService:
    """The issuers this deployment trusts; the demo issuer only ever in the local stage."""
    specs = list(settings.trusted_issuers)
    key_file = settings.demo_issuer_key_file
    if settings.is_local and key_file is not None and key_file.exists():
        specs.append(demo_issuer_spec(key_file, settings.public_base_url, settings.api_audience))
    return IdentityService([TrustedIssuer(issuer=spec["issuer"], audience=spec.get("audience", settings.api_audience),
                                          algorithms=tuple(spec.get("algorithms", ("ES256", "RS256"))),
                                          jwks=spec.get("jwks"), jwks_uri=spec.get("jwks_uri"))
                            for spec in specs])

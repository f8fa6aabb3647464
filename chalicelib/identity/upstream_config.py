"""The upstream OpenID Connect provider's settings (`CITIZEN_OIDC`), checked once at cold start,
and the error that stops a sign-in (shown on the sign-in error page)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from chalicelib.errors import DomainError

CALLBACK_PATH = "/signin/franceconnect/callback"
LOGGED_OUT_PATH = "/signin/franceconnect/logged-out"  # post_logout_redirect_uri, registered at the provider
# Asymmetric signatures only: an HMAC ID token (FranceConnect v1 signed with the client secret)
# would be forgeable by anyone who holds that secret.
ALLOWED_ALGORITHMS = ("ES256", "RS256", "PS256", "ES384", "RS384")
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class UpstreamError(DomainError):
    """The sign-in cannot go on; `code` names why (shown on the error page), `status` the HTTP one."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class UpstreamConfig:
    """`CITIZEN_OIDC`, as JSON: see README (Configuration) and docs/deploy.md."""

    issuer: str
    client_id: str
    redirect_uri: str
    post_logout_redirect_uri: str
    scope: str = "openid"
    acr_values: Optional[str] = None
    client_secret_arn: Optional[str] = None
    client_secret_file: Optional[Path] = None
    token_endpoint_auth_method: Optional[str] = None  # None: what the provider's metadata offers
    algorithms: Tuple[str, ...] = ("ES256", "RS256")
    metadata: Mapping[str, Any] = field(default_factory=dict)
    name: str = "FranceConnect"

    @classmethod
    def parse(cls, spec: Mapping[str, Any], public_base_url: str) -> "UpstreamConfig":
        """Checked once at cold start: a wrong setting fails the deployment, not a citizen."""
        unknown = set(spec) - {"issuer", "client_id", "scope", "acr_values", "client_secret_arn",
                               "client_secret_file", "token_endpoint_auth_method", "algorithms", "jwks_uri",
                               "metadata", "name"}
        if unknown:
            raise ValueError(f"CITIZEN_OIDC: unknown fields {sorted(unknown)}")
        issuer, client_id = spec.get("issuer"), spec.get("client_id")
        if not isinstance(issuer, str) or not isinstance(client_id, str) or not issuer or not client_id:
            raise ValueError("CITIZEN_OIDC needs 'issuer' and 'client_id'")
        if urlsplit(issuer).scheme != "https" and not is_loopback(issuer):
            raise ValueError("CITIZEN_OIDC: the issuer must be an https URL")
        if not (spec.get("client_secret_arn") or spec.get("client_secret_file")):
            raise ValueError("CITIZEN_OIDC needs 'client_secret_arn' (Secrets Manager) or 'client_secret_file'")
        method = spec.get("token_endpoint_auth_method")
        if method is not None and method not in AUTH_METHODS:
            raise ValueError(f"CITIZEN_OIDC: token_endpoint_auth_method must be one of {AUTH_METHODS}")
        algorithms = tuple(spec.get("algorithms") or ("ES256", "RS256"))
        if not set(algorithms) <= set(ALLOWED_ALGORITHMS):
            raise ValueError(f"CITIZEN_OIDC: algorithms must be among {ALLOWED_ALGORITHMS}")
        scope = spec.get("scope", "openid")
        if "openid" not in scope.split():
            raise ValueError("CITIZEN_OIDC: the scope must include 'openid'")
        metadata = dict(spec.get("metadata") or {})
        if spec.get("jwks_uri"):
            metadata["jwks_uri"] = spec["jwks_uri"]
        return cls(issuer=issuer.rstrip("/"), client_id=client_id,
                   redirect_uri=public_base_url.rstrip("/") + CALLBACK_PATH,
                   post_logout_redirect_uri=public_base_url.rstrip("/") + LOGGED_OUT_PATH, scope=scope,
                   acr_values=spec.get("acr_values") or None, client_secret_arn=spec.get("client_secret_arn"),
                   client_secret_file=Path(spec["client_secret_file"]) if spec.get("client_secret_file") else None,
                   token_endpoint_auth_method=method, algorithms=algorithms, metadata=metadata,
                   name=spec.get("name", "FranceConnect"))

"""Every setting the code reads from its environment, read once, typed."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

_PACKAGE_DIR = Path(__file__).resolve().parent


def _default_catalog_dir() -> Path:
    # In the repository the data lives in ./catalog; `make package` copies it into
    # chalicelib/catalog_data so that it ships inside the Lambda bundle.
    repo_copy = _PACKAGE_DIR.parent / "catalog"
    return repo_copy if repo_copy.is_dir() else _PACKAGE_DIR / "catalog_data"


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    dynamodb_endpoint: Optional[str]
    apps_table: str
    catalog_table: str
    consents_table: str
    grants_table: str
    records_table: str
    audit_table: str
    public_base_url: str
    catalog_dir: Path
    log_level: str
    api_audience: str
    # OIDC issuers trusted for publisher and reviewer bearer tokens (ProConnect in production):
    # a JSON list of {"issuer", "audience", "jwks_uri" or "jwks", "algorithms"}.
    trusted_issuers: List[Dict[str, Any]] = field(default_factory=list)
    # Private key of the demo issuer, made by `make run`; trusted in the local stage only.
    demo_issuer_key_file: Optional[Path] = None
    # The broker's token-signing keys, a ring made and rotated by the function itself and kept in
    # the grants table, each private key wrapped by a symmetric KMS key in AWS, else by a key file
    # made at run time (docs/decisions/0012-token-signing-key-ring.md). A key signs for the
    # rotation period, is published the publish-ahead time before, and a container reads the ring
    # again every refresh time (publish-ahead must exceed it plus the JWKS max-age, 300 s).
    signing_wrap_key_id: Optional[str] = None
    signing_wrap_key_file: Optional[Path] = None
    signing_key_rotation_days: float = 30.0
    signing_key_publish_ahead_seconds: float = 3600.0
    signing_ring_refresh_seconds: float = 300.0
    # Large document contents (S3; moto locally, at S3_ENDPOINT when set).
    documents_bucket: str = "mes-local-documents"
    s3_endpoint: Optional[str] = None
    # The key that seals the citizen's internal id inside access tokens (AES-256-GCM), so that the
    # FHIR API finds the record without a table read while apps see only pairwise ids: in AWS a
    # data key made by KMS key CLAIM_KEY_ID, kept encrypted in the grants table and decrypted once per
    # cold start), else a file made at run time.
    claim_key_id: Optional[str] = None
    claim_key_file: Optional[Path] = None
    # Citizen sign-in upstream (FranceConnect in production): OpenID Connect settings as JSON,
    # {"issuer", "client_id", ...}; None where only the demo picker signs citizens in.
    citizen_oidc: Optional[Dict[str, Any]] = None
    # How long a warm container keeps a catalogue page or listing it read (0: not at all). With the
    # same max-age for HTTP caches, a suspended app leaves every catalogue view within twice this.
    catalog_cache_seconds: float = 30.0
    # Each app's quota on the FHIR API and, separately, on the token endpoint: requests a second
    # sustained, and at once (chalicelib/oauth/quotas.py). The commission may decide another quota
    # for an app; APP_QUOTAS, JSON {"<app id>": {"rate": r, "burst": b}}, overrides both.
    app_rate_limit: int = 50
    app_burst_limit: int = 100
    app_quotas: Dict[str, Any] = field(default_factory=dict)
    # The Lambda that builds citizens' export archives (chalicelib/export/), invoked asynchronously;
    # None (local runs and tests): a thread of this process runs the same handler.
    export_worker_function: Optional[str] = None
    # Publishers' and reviewers' sign-in at the referencing portal (ProConnect in production):
    # CITIZEN_OIDC's fields as JSON, plus `reviewers`, the commission's allow-list
    # (docs/decisions/0016-portal-sign-in-and-roles.md); None where only the demo picker exists.
    portal_oidc: Optional[Dict[str, Any]] = None
    # FHIR subscriptions and citizens' access alerts (chalicelib/notify/, decision 0017): their
    # table; the queue the stream handler fans notifications out to (None: local runs and tests,
    # where moto's queue is made at start); the delays between a failing endpoint's attempts, in
    # seconds (after the last one the subscription is set to `error`); the SES sender of alerts
    # (None: alerts go to the citizen's alerts list and a log line only).
    subscriptions_table: str = "mes-local-subscriptions"
    notify_queue_url: Optional[str] = None
    sqs_endpoint: Optional[str] = None  # moto's server in `make run`
    notify_retry_seconds: List[int] = field(default_factory=lambda: [30, 120, 600, 1800])
    alerts_from_address: Optional[str] = None

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    @property
    def demo_sign_in(self) -> bool:
        """The demo identity picker and `login_hint` sign-in: local runs and tests, never deployed."""
        return self.stage in ("local", "test")

    @property
    def issuer(self) -> str:
        """The OAuth issuer URL: the public base URL of this deployment."""
        return self.public_base_url

    @property
    def fhir_base_url(self) -> str:
        return f"{self.public_base_url}/fhir"


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    stage = env.get("STAGE", "local")
    public_base_url = env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    prefix = env.get("TABLE_PREFIX", f"mes-{stage}-")
    return Settings(
        stage=stage,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-3",
        dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT") or None,
        apps_table=env.get("APPS_TABLE", f"{prefix}apps"),
        catalog_table=env.get("CATALOG_TABLE", f"{prefix}catalog"),
        consents_table=env.get("CONSENTS_TABLE", f"{prefix}consents"),
        grants_table=env.get("GRANTS_TABLE", f"{prefix}grants"),
        records_table=env.get("RECORDS_TABLE", f"{prefix}records"),
        audit_table=env.get("AUDIT_TABLE", f"{prefix}audit"),
        public_base_url=public_base_url,
        catalog_dir=Path(env["CATALOG_DIR"]) if env.get("CATALOG_DIR") else _default_catalog_dir(),
        log_level=env.get("LOG_LEVEL", "INFO"),
        api_audience=env.get("API_AUDIENCE", public_base_url),
        trusted_issuers=json.loads(env.get("TRUSTED_ISSUERS") or "[]"),
        demo_issuer_key_file=Path(env["DEMO_ISSUER_KEY_FILE"]) if env.get("DEMO_ISSUER_KEY_FILE") else None,
        signing_wrap_key_id=env.get("SIGNING_WRAP_KEY_ID") or None,
        signing_wrap_key_file=Path(env["SIGNING_WRAP_KEY_FILE"]) if env.get("SIGNING_WRAP_KEY_FILE") else None,
        signing_key_rotation_days=float(env.get("SIGNING_KEY_ROTATION_DAYS") or 30),
        signing_key_publish_ahead_seconds=float(env.get("SIGNING_KEY_PUBLISH_AHEAD_SECONDS") or 3600),
        signing_ring_refresh_seconds=float(env.get("SIGNING_RING_REFRESH_SECONDS") or 300),
        documents_bucket=env.get("DOCUMENTS_BUCKET", f"{prefix}documents"),
        s3_endpoint=env.get("S3_ENDPOINT") or None,
        claim_key_id=env.get("CLAIM_KEY_ID") or None,
        claim_key_file=Path(env["CLAIM_KEY_FILE"]) if env.get("CLAIM_KEY_FILE") else None,
        citizen_oidc=json.loads(env["CITIZEN_OIDC"]) if env.get("CITIZEN_OIDC") else None,
        catalog_cache_seconds=float(env.get("CATALOG_CACHE_SECONDS") or 30),
        app_rate_limit=int(env.get("APP_RATE_LIMIT") or 50),
        app_burst_limit=int(env.get("APP_BURST_LIMIT") or 100),
        app_quotas=json.loads(env.get("APP_QUOTAS") or "{}"),
        export_worker_function=env.get("EXPORT_WORKER_FUNCTION") or None,
        portal_oidc=json.loads(env["PORTAL_OIDC"]) if env.get("PORTAL_OIDC") else None,
        subscriptions_table=env.get("SUBSCRIPTIONS_TABLE", f"{prefix}subscriptions"),
        notify_queue_url=env.get("NOTIFY_QUEUE_URL") or None,
        sqs_endpoint=env.get("SQS_ENDPOINT") or None,
        notify_retry_seconds=[int(v) for v in (env.get("NOTIFY_RETRY_SECONDS") or "30,120,600,1800").split(",")],
        alerts_from_address=env.get("ALERTS_FROM_ADDRESS") or None,
    )


settings = load_settings()

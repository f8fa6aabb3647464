"""The upstream provider over HTTP: JSON fetched with the standard library (the Lambda carries no
HTTP client library), bounded in time and size, and the client secret read from Secrets Manager.
Every failure is an UpstreamError, which the sign-in shows on its error page."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple

from chalicelib.identity.upstream_config import UpstreamError

HTTP_TIMEOUT = 5
MAX_RESPONSE_BYTES = 512 * 1024


def fetch_json(url: str, data: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None) -> Tuple[int, Any]:
    request = urllib.request.Request(url, data=data,  # noqa: S310 - the provider's https URLs (or loopback in tests)
                                     headers={"Accept": "application/json", **(headers or {})},
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - https or loopback
            status, raw = response.status, response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as error:  # 4xx/5xx: the body may still be an OAuth error
        status, raw = error.code, error.read(MAX_RESPONSE_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise UpstreamError("upstream_unavailable", f"The identity provider cannot be reached ({error}).", 502) \
            from error
    if len(raw) > MAX_RESPONSE_BYTES:
        raise UpstreamError("upstream_unavailable", "The identity provider's answer is too large.", 502)
    try:
        return status, json.loads(raw)
    except ValueError:
        raise UpstreamError("upstream_unavailable", "The identity provider's answer is not JSON.", 502) from None


def read_secrets_manager(secret_id: str) -> str:
    """The client secret from AWS Secrets Manager: a plain string, or JSON with `client_secret`."""
    import boto3  # only in AWS, and only on the first sign-in of a cold Lambda
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id).get("SecretString") or ""
    except (ClientError, BotoCoreError) as error:
        # Not set yet (a new stack's secret is empty), or no permission: the sign-in error page, not a 500.
        raise UpstreamError("upstream_misconfigured", f"The client secret for the identity provider cannot "
                                                      f"be read ({type(error).__name__}).", 502) from None
    try:
        parsed = json.loads(value)
    except ValueError:
        return value.strip()
    return str(parsed["client_secret"]) if isinstance(parsed, dict) else value.strip()

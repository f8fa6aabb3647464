"""The signature of each notification (decision 0017): HMAC-SHA256 with the subscription's own
secret, in the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature:
v1,<base64>` over `<id>.<timestamp>.<body>`), which apps check with a few lines of any language or
an off-the-shelf library."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Dict, Mapping, Optional

TOLERANCE_SECONDS = 300  # a receiver refuses a timestamp further off than this (replays)


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def signed_headers(secret: str, message_id: str, body: bytes, now: Optional[float] = None) -> Dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, message_id, timestamp, body)}


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: Optional[float] = None) -> bool:
    """What a receiving app does: the signature is ours and recent (any of the space-separated
    `v1,` signatures may match: a sender rotating its secret sends two)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id, stamp = lowered.get("webhook-id", ""), lowered.get("webhook-timestamp", "")
    if not message_id or not stamp.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(stamp)) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, message_id, int(stamp), body)
    return any(hmac.compare_digest(expected, given) for given in lowered.get("webhook-signature", "").split())

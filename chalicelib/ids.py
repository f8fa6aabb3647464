"""What the ids this platform hands out look like. Anything else cannot be a key of ours and must
not reach DynamoDB, which would refuse an empty or oversized key with an error."""
from __future__ import annotations

import re

# An app id, which is also its OAuth client_id.
_APP_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


def is_app_id(value: str) -> bool:
    return bool(_APP_ID.match(value or ""))

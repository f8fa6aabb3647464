"""The time as the code reads it: one clock type, injected into every service so that tests can
set it, and the clock of production."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)

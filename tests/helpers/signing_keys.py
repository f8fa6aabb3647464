"""The signing keys' settings as the tests use them (the default schedule: a key signs 30 days and
is published an hour ahead; the ring is read again every 5 minutes), a token's claims, and a clock
the tests move."""
import time
from datetime import datetime, timedelta, timezone

from chalicelib.oauth.keys import rotation_schedule

AUD, ISS = "http://testserver/fhir", "http://testserver"
REFRESH = timedelta(minutes=5)
SCHEDULE = rotation_schedule(timedelta(days=30), timedelta(hours=1), REFRESH)


def claims(**extra):
    now = int(time.time())  # PyJWT checks iat and exp against the real time
    return {"iss": ISS, "aud": AUD, "sub": "p-1", "iat": now, "exp": now + 300, **extra}


class Clock:
    def __init__(self):
        self.now = datetime.now(timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)

"""The environment every in-process benchmark runs in: moto's AWS (fake credentials, Paris
region, no endpoint of a running server), its own table names, and key files in a fresh temporary
directory (made at run time, never committed). Import it before anything of chalicelib: settings
are read at import."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable


def use_local_aws(unset: Iterable[str] = ("DYNAMODB_ENDPOINT",)) -> Path:
    """Sets the environment; `unset` names the variables a developer's shell might carry that would
    send the calls elsewhere. Returns the directory of the key files."""
    keys = Path(tempfile.mkdtemp(prefix="mes-bench-"))
    os.environ.update({"STAGE": "test", "TABLE_PREFIX": "mes-bench-", "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-west-3",
                       "PUBLIC_BASE_URL": "https://testserver", "SIGNING_WRAP_KEY_FILE": str(keys / "signing-wrap.bin"),
                       "CLAIM_KEY_FILE": str(keys / "claim.bin"), "LOG_LEVEL": "WARNING"})
    for name in unset:
        os.environ.pop(name, None)
    return keys

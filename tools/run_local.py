"""`make run`: moto's DynamoDB server on loopback, tables and demo data, then `chalice local`.

Both stop together on Ctrl-C or SIGTERM, and nothing is left running.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Optional

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
        return False


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM if this process dies without cleaning up (e.g. SIGKILL).
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def wait_until_ready(url: str, child: subprocess.Popen, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local server
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


class Shutdown(Exception):
    """Ctrl-C or SIGTERM."""


def _raise_shutdown(signum: int, _frame: object) -> None:
    raise Shutdown(signum)


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    if port_in_use(port):
        print(f"Port {port} is already in use: stop what uses it, or run `PORT=8001 make run`.",
              file=sys.stderr)
        return 2
    dynamodb_port = int(os.environ.get("DYNAMODB_PORT") or free_port())
    base_url = f"http://{HOST}:{port}"
    key_file = PROJECT_DIR / ".run" / str(port) / "demo-issuer.pem"
    os.environ.update({
        "STAGE": "local",
        "DEMO_ISSUER_KEY_FILE": str(key_file),
        "SIGNING_WRAP_KEY_FILE": str(key_file.with_name("signing-wrap-key.bin")),
        "CLAIM_KEY_FILE": str(key_file.with_name("claim-key.bin")),
        "DYNAMODB_ENDPOINT": f"http://{HOST}:{dynamodb_port}",
        "S3_ENDPOINT": f"http://{HOST}:{dynamodb_port}",  # moto's one server serves S3 too
        "SQS_ENDPOINT": f"http://{HOST}:{dynamodb_port}",  # and the notification queue (chalicelib/notify/)
        "PUBLIC_BASE_URL": base_url,
        # moto accepts any credentials; these keep botocore from looking for real ones.
        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-3"),
    })
    os.environ.pop("AWS_PROFILE", None)

    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-call access log
    dynamodb = ThreadedMotoServer(ip_address=HOST, port=dynamodb_port, verbose=False)
    child: Optional[subprocess.Popen] = None
    # Cleanup runs in `finally`, outside the signal handler: waiting on the child from inside a
    # handler that interrupted Popen.wait() would deadlock on its lock.
    signal.signal(signal.SIGINT, _raise_shutdown)
    signal.signal(signal.SIGTERM, _raise_shutdown)
    try:
        dynamodb.start()
        sys.path.insert(0, str(PROJECT_DIR))
        from chalicelib.catalog.demo import seed_demo_catalog
        from chalicelib.catalog.referential import load_referential
        from chalicelib.catalog.service import CatalogService
        from chalicelib.storage import ensure_tables

        from chalicelib.identity.demo import create_key_file

        from chalicelib.records.resources import Codec
        from chalicelib.terminology import load_terminology
        from chalicelib.oauth.claims import create_key_file as create_claim_key_file
        from chalicelib.oauth.keywrap import create_wrap_key_file
        from chalicelib.records.demo import seed_demo_records
        from chalicelib.records.documents import DocumentStore

        create_key_file(key_file)  # a new demo issuer key at every start; never committed
        create_wrap_key_file(key_file.with_name("signing-wrap-key.bin"))  # wraps the broker's signing keys
        create_claim_key_file(key_file.with_name("claim-key.bin"))  # seals patient ids in tokens
        ensure_tables()
        apps = seed_demo_catalog(CatalogService(load_referential()))
        from chalicelib.config import settings
        DocumentStore(settings.documents_bucket, settings.region, settings.s3_endpoint).ensure_bucket()
        records = seed_demo_records(Codec(load_terminology(settings.catalog_dir), settings.fhir_base_url),
                                    settings.catalog_dir)
        print(f"Embedded DynamoDB and S3 (moto) on {HOST}:{dynamodb_port}: tables created, "
              f"{len(apps)} demo apps published, {records} demo records.", flush=True)

        chalice = Path(sys.executable).with_name("chalice")
        child = subprocess.Popen(  # noqa: S603 - our venv's chalice, fixed arguments
            [str(chalice), "local", "--host", HOST, "--port", str(port), "--stage", "local",
             "--no-autoreload"],
            cwd=PROJECT_DIR, start_new_session=True, preexec_fn=_die_with_parent)
        if not wait_until_ready(f"{base_url}/openapi.json", child):
            print("The API did not start; see the messages above.", file=sys.stderr)
            return 1
        print(f"""
Mon espace santé app store, local stage, at {base_url}
Pages for citizens (French; add ?lang=en for English):
  Catalogue               {base_url}/
  An app's page           {base_url}/apps/demo-sandbox
  Sign in (demo people)   {base_url}/account/sign-in
  My consents             {base_url}/account/consents
  My access history       {base_url}/account/history
  Download my data        {base_url}/account/export
Referencing portal (publishers and the commission; demo sign-in):
  Portal                  {base_url}/portal/sign-in
JSON API:
  Catalogue (JSON)        {base_url}/catalog/apps
  Catalogue by écoscore   {base_url}/catalog/apps?sort=ecoscore
  An app with its écoscore breakdown and compliance summary
                          {base_url}/catalog/apps/demo-sandbox
  Référentiel             {base_url}/catalog/referential
  OpenAPI 3.1             {base_url}/openapi.json
FHIR R4 (SMART App Launch; client demo-sandbox, redirect http://127.0.0.1:9999/callback):
  CapabilityStatement     {base_url}/fhir/metadata
  SMART configuration     {base_url}/fhir/.well-known/smart-configuration
Demo bearer tokens (publisher, reviewer), in another terminal:
  make token ROLE=publisher{"" if port == 8000 else f" PORT={port}"}
  make token ROLE=reviewer{"" if port == 8000 else f" PORT={port}"}
Press Ctrl-C to stop.
""", flush=True)
        # Polled rather than waited on: a signal the kernel hands to another thread (moto's server
        # threads are busy serving the notification pipeline's polls) still reaches the main
        # thread's handler at once, instead of after the child's exit that it is meant to cause.
        while child.poll() is None:
            time.sleep(0.2)
        return child.returncode
    except Shutdown:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        dynamodb.stop()
        key_file.unlink(missing_ok=True)
        key_file.with_name("signing-wrap-key.bin").unlink(missing_ok=True)
        key_file.with_name("claim-key.bin").unlink(missing_ok=True)
        print("Stopped the API and the embedded DynamoDB.", flush=True)


if __name__ == "__main__":
    sys.exit(main())

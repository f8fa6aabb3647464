"""An app's webhook receiver on 127.0.0.1, as the notification tests and the benchmark use it: it
keeps what it received (headers, body, arrival time), and can misbehave on demand (an error
status, a slow or endless answer, a huge answer, a redirect)."""
import json
import queue
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chalicelib.notify.signing import verify


class Received:
    def __init__(self, path, headers, body, at):
        self.path, self.headers, self.body, self.at = path, headers, body, at

    @property
    def bundle(self):
        return json.loads(self.body)

    @property
    def status(self):
        """The notification's SubscriptionStatus parameters, by name."""
        return {p["name"]: p for p in self.bundle["entry"][0]["resource"]["parameter"]}

    @property
    def event(self):
        parts = self.status["notification-event"]["part"]
        return {p["name"]: p.get("valueString") or p.get("valueInstant") or p.get("valueReference", {}).get("reference")
                for p in parts}

    def signed_by(self, secret):
        return verify(secret, self.headers, self.body)


class Receiver:
    """`behaviour`: "ok", "fail" (500), "slow" (answers after `delay` s), "redirect", "huge", "hang"."""

    def __init__(self, behaviour="ok", delay=0.0):
        self.behaviour, self.delay = behaviour, delay
        self.received = queue.Queue()
        self.attempts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.attempts += 1
                behaviour = outer.behaviour
                if behaviour == "ok":
                    outer.received.put(Received(self.path, dict(self.headers), body, time.monotonic()))
                    self._answer(200, b"{}")
                elif behaviour == "fail":
                    self._answer(500, b"no")
                elif behaviour == "redirect":
                    self.send_response(307)
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif behaviour == "huge":
                    try:
                        self.wfile.write(b"X" * 5_000_000)  # no status line, far more than anyone reads
                    except OSError:
                        pass  # the sender stopped reading, as it should
                elif behaviour in ("slow", "hang"):
                    time.sleep(outer.delay)
                    self._answer(200, b"{}")

            def _answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path="/notifications/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def next(self, timeout=10.0):
        return self.received.get(timeout=timeout)

    def nothing_within(self, seconds):
        try:
            extra = self.received.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected notification: {extra.body[:300]!r}")


def closed_port():
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def subscription(topic, endpoint, codes=None, heartbeat=None):
    """A Subscription as an app sends it (R4, Subscriptions R5 Backport)."""
    backport = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    body = {"resourceType": "Subscription", "status": "requested", "reason": "test",
            "criteria": f"https://monespacesante.example/fhir/SubscriptionTopic/{topic}",
            "channel": {"type": "rest-hook", "endpoint": endpoint, "payload": "application/fhir+json",
                        "_payload": {"extension": [{"url": backport + "backport-payload-content",
                                                    "valueCode": "id-only"}]}}}
    if codes:
        body["_criteria"] = {"extension": [{"url": backport + "backport-filter-criteria",
                                            "valueString": "Observation?code=" + ",".join(codes)}]}
    if heartbeat:
        body["channel"]["extension"] = [{"url": backport + "backport-heartbeat-period", "valueUnsignedInt": heartbeat}]
    return body


def secret_of(created):
    (secret,) = [e["valueString"] for e in created.get("extension", []) if e["url"].endswith("signing-secret")]
    return secret

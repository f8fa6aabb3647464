"""`make run` as a test starts it: tools/run_local.py on a free port, in a process of its own, its
output read as it comes."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from tests.helpers.project import PROJECT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, json.loads(response.read().decode("utf-8"))


def start(port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STAGE", "TABLE_PREFIX",
                                                                     "PUBLIC_BASE_URL", "DYNAMODB"))}
    env["PORT"] = str(port)
    return subprocess.Popen([sys.executable, "tools/run_local.py"], cwd=PROJECT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_ready(process: subprocess.Popen, base: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the local server stopped before it was ready"
        try:
            if get(f"{base}/catalog/apps")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    raise AssertionError("the local server did not start in time")


class LocalServer:
    """`make run` on a free port for a test module: its output is read as it comes (a full pipe
    would block the server) and kept for the checks made after it stops."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.output = ""
        self._lines: list = []

    def __enter__(self) -> "LocalServer":
        self.process = start(self.port)
        self._reader = threading.Thread(target=lambda: self._lines.extend(self.process.stdout), daemon=True)
        self._reader.start()
        try:
            wait_ready(self.process, self.base)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        self.output = "".join(self._lines)

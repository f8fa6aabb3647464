"""`make run` as a newcomer meets it: real processes, real HTTP, clean stop, twice in a row."""
import json
import signal
import socket
import urllib.error

import pytest

from tests.helpers.local_server import free_port, get, start, wait_ready

pytestmark = pytest.mark.e2e


def port_is_free(port: int) -> bool:
    """Nothing listens there any more, and a new server could bind it (as `make run` does)."""
    with socket.socket() as client:
        if client.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_make_run_serves_the_catalogue_and_stops_cleanly_twice_in_a_row():
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    for attempt in range(2):
        process = start(port)
        try:
            wait_ready(process, base)
            status, headers, page = get(f"{base}/catalog/apps?sort=ecoscore")
            assert status == 200 and len(page["items"]) >= 9
            assert headers["X-Request-Id"]
            status, _, app = get(f"{base}/catalog/apps/demo-sandbox")
            assert app["ecoscore"]["metrics"] and app["compliance"]["families"]
            with pytest.raises(urllib.error.HTTPError) as missing:
                get(f"{base}/catalog/apps/not-an-app")
            assert missing.value.code == 404
            assert json.loads(missing.value.read())["error"]["code"] == "not_found"
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert f"{base}/catalog/apps" in output, "the useful URLs are printed"
        assert '"route":"/catalog/apps"' in output, "request log lines reach the console"
        assert port_is_free(port), f"run {attempt + 1} left the port in use"

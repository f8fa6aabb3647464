"""One notification POSTed to an app's endpoint, bounded every way a hostile endpoint could try:
the whole exchange within a deadline (connect, TLS, send, answer), only the status line read and
never more than MAX_ANSWER bytes of it, redirects never followed (a 3xx is a failure), and, outside
local runs, no address that is not public (the name is resolved once, and that address is the
one connected to: no rebinding). Standard library only: a plain socket, TLS verified by `ssl`."""
from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Mapping, Optional
from urllib.parse import urlsplit

DEADLINE_SECONDS = 5.0
CONNECT_SECONDS = 2.0
MAX_ANSWER = 4096
USER_AGENT = "mes-appstore-notify/1"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: Optional[int]
    error: Optional[str]
    seconds: float


def post(url: str, body: bytes, headers: Mapping[str, str], allow_private: bool = False,
         deadline_seconds: float = DEADLINE_SECONDS) -> Outcome:
    start = time.monotonic()
    deadline = start + deadline_seconds

    def done(ok: bool, status: Optional[int], error: Optional[str]) -> Outcome:
        return Outcome(ok, status, error, round(time.monotonic() - start, 3))

    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    try:
        address = _address(host, port, allow_private)
    except (OSError, ValueError) as error:
        return done(False, None, f"unreachable: {error}"[:200])
    sock: Optional[socket.socket] = None
    try:
        sock = socket.create_connection((address, port), timeout=min(CONNECT_SECONDS, deadline_seconds))
        if secure:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = host if parts.port is None else f"{host}:{port}"
        lines = [f"POST {target} HTTP/1.1", f"Host: {host_header}", "Content-Type: application/fhir+json",
                 f"Content-Length: {len(body)}", "Connection: close", f"User-Agent: {USER_AGENT}",
                 *(f"{name}: {value}" for name, value in headers.items())]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        sock.sendall(request)
        answer = b""
        while b"\r\n" not in answer and len(answer) < MAX_ANSWER:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("deadline")
            sock.settimeout(remaining)
            chunk = sock.recv(min(1024, MAX_ANSWER - len(answer)))
            if not chunk:
                break
            answer += chunk
    except socket.timeout:
        return done(False, None, f"no answer within {deadline_seconds:g} s")
    except ssl.SSLError as error:
        return done(False, None, f"TLS failed: {error.reason or error}"[:200])
    except OSError as error:
        return done(False, None, f"unreachable: {error.strerror or error}"[:200])
    finally:
        if sock is not None:
            sock.close()
    status = _status(answer)
    if status is None:
        return done(False, None, "not an HTTP answer")
    if 200 <= status < 300:
        return done(True, status, None)
    if 300 <= status < 400:
        return done(False, status, f"HTTP {status}: redirects are not followed")
    return done(False, status, f"HTTP {status}")


def _address(host: str, port: int, allow_private: bool) -> str:
    """The one address to connect to; outside local runs, only a public one."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError("no address")
    address = str(infos[0][4][0])
    if not allow_private and not ipaddress.ip_address(address).is_global:
        raise ValueError(f"{host} resolves to a non-public address")
    return address


def _status(answer: bytes) -> Optional[int]:
    line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
        return None
    return int(parts[1])

"""A small OpenID Connect provider for the tests, served over real HTTP on 127.0.0.1 in a thread:
discovery, JWKS, an authorization endpoint that signs in whoever `subject` names, and a token
endpoint that checks client authentication, the code, the redirect URI and PKCE before issuing an
ID token (ES256, joserfc). `tamper` lets a test make it misbehave like a hostile or broken provider."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey

CLIENT_ID = "mes-broker-test"
CLIENT_SECRET = "s3cret-made-for-this-test-run"


class TestProvider:
    __test__ = False  # not a test class, whatever its name

    def __init__(self) -> None:
        self.key = ECKey.generate_key("P-256", parameters={"kid": "fc-1", "use": "sig", "alg": "ES256"})
        self.subject = "fc-sub-alice"
        self.tamper: Dict[str, Any] = {}  # claim overrides, or "key"/"alg"/"token_error"/"metadata"
        self.codes: Dict[str, Dict[str, Any]] = {}
        self.requests: List[Dict[str, Any]] = []
        self.jwks_fetches = 0
        # ProConnect's way: claims (siret, e-mail, names) at the userinfo endpoint, as a signed JWT.
        self.userinfo: Optional[Dict[str, Any]] = None
        self.access_tokens: Dict[str, str] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "TestProvider":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- what the endpoints answer ---------------------------------------------------------------

    def metadata(self) -> Dict[str, Any]:
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "end_session_endpoint": f"{self.issuer}/logout",
                **({"userinfo_endpoint": f"{self.issuer}/userinfo"} if self.userinfo is not None else {}),
                "response_types_supported": ["code"], "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["ES256"], "code_challenge_methods_supported": ["S256"],
                **self.tamper.get("metadata", {})}

    def authorize(self, query: Dict[str, str]) -> str:
        """The redirect back to the client, with a code bound to what the request asked."""
        self.requests.append({"endpoint": "authorize", **query})
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            refusal = {"error": "unauthorized_client", "state": query.get("state", "")}
            return f"{query['redirect_uri']}?{urlencode(refusal)}"
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"nonce": query.get("nonce"), "challenge": query.get("code_challenge"),
                            "redirect_uri": query["redirect_uri"], "subject": self.subject}
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, form: Dict[str, str], authorization: Optional[str]) -> tuple:
        self.requests.append({"endpoint": "token", "authorization": authorization, **form})
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        posted = form.get("client_id") == CLIENT_ID and form.get("client_secret") == CLIENT_SECRET
        if authorization != expected and not posted:
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri") or grant["challenge"] != challenge:
            return 400, {"error": "invalid_grant"}
        if "token_error" in self.tamper:
            return 400, {"error": self.tamper["token_error"]}
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": grant["subject"], "aud": CLIENT_ID, "iat": now, "exp": now + 60,
                  "nonce": grant["nonce"], "acr": "eidas1", "auth_time": now}
        claims.update(self.tamper.get("claims", {}))
        for name in self.tamper.get("drop", ()):
            claims.pop(name, None)
        access_token = secrets.token_urlsafe(16)
        self.access_tokens[access_token] = grant["subject"]
        return 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 60,
                     "id_token": self.id_token(claims)}

    def id_token(self, claims: Dict[str, Any]) -> str:
        if self.tamper.get("alg") == "none":
            header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"fc-1"}').rstrip(b"=").decode()
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            return f"{header}.{body}."
        key = self.tamper.get("key", self.key)
        return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)

    # -- HTTP ------------------------------------------------------------------------------------

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/.well-known/openid-configuration":
                    self._json(200, provider.metadata())
                elif parts.path == "/jwks":
                    provider.jwks_fetches += 1
                    self._json(200, {"keys": [provider.key.as_dict(private=False)]})
                elif parts.path == "/userinfo" and provider.userinfo is not None:
                    subject = provider.access_tokens.get((self.headers.get("Authorization") or "")[7:])
                    if subject is None:
                        self._json(401, {"error": "invalid_token"})
                        return
                    raw = jwt.encode({"alg": "ES256", "kid": provider.key.kid},
                                     {"iss": provider.issuer, "aud": CLIENT_ID, "sub": subject, **provider.userinfo},
                                     provider.key).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/jwt")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                elif parts.path == "/authorize":
                    self.send_response(302)
                    self.send_header("Location", provider.authorize(query))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path == "/token":
                    self._json(*provider.token(form, self.headers.get("Authorization")))
                else:
                    self._json(404, {"error": "not_found"})

        return Handler

"""The authorization server over HTTP (so far: its published keys)."""


def test_the_broker_publishes_its_public_signing_key(client):
    response = client.get("/oauth/jwks")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/jwk-set+json"
    (key,) = response.json_body["keys"]
    assert key["kty"] == "EC" and key["alg"] == "ES256" and key["kid"] and "d" not in key

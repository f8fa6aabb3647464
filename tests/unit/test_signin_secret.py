"""The upstream client secret comes from Secrets Manager in AWS, read once per cold Lambda."""
import json

import boto3
from moto import mock_aws

from chalicelib.identity.upstream import UpstreamProvider
from chalicelib.identity.upstream_config import UpstreamConfig
from chalicelib.identity.upstream_http import read_secrets_manager


def test_the_secret_is_read_as_a_string_or_from_json():
    with mock_aws():
        client = boto3.client("secretsmanager")
        plain = client.create_secret(Name="fc-plain", SecretString="s3cret\n")["ARN"]
        wrapped = client.create_secret(Name="fc-json", SecretString=json.dumps({"client_secret": "other"}))["ARN"]
        assert read_secrets_manager(plain) == "s3cret"
        assert read_secrets_manager(wrapped) == "other"


def test_the_secret_is_read_once():
    reads = []
    config = UpstreamConfig.parse({"issuer": "https://fc.example", "client_id": "x",
                                   "client_secret_arn": "arn:aws:secretsmanager:eu-west-3:1:secret:fc"},
                                  "https://testserver")
    provider = UpstreamProvider(config, secret_reader=lambda arn: reads.append(arn) or "s3cret")
    assert provider.client_secret() == provider.client_secret() == "s3cret"
    assert reads == ["arn:aws:secretsmanager:eu-west-3:1:secret:fc"]


def test_a_secret_that_cannot_be_read_is_a_clear_502_not_a_crash():
    from chalicelib.identity.upstream_config import UpstreamError
    with mock_aws():
        missing = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:mes-prod/franceconnect-client-secret"
        try:
            read_secrets_manager(missing)
        except UpstreamError as error:
            assert (error.code, error.status) == ("upstream_misconfigured", 502)
        else:
            raise AssertionError("a missing secret must not read as a secret")
        empty = boto3.client("secretsmanager").create_secret(Name="fc-empty")["ARN"]  # as a new stack makes it
        config = UpstreamConfig.parse({"issuer": "https://fc.example", "client_id": "x", "client_secret_arn": empty},
                                      "https://testserver")
        try:
            UpstreamProvider(config).client_secret()
        except UpstreamError as error:
            assert error.code == "upstream_misconfigured"
        else:
            raise AssertionError("an empty secret must not be used")

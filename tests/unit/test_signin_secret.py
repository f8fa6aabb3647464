"""The upstream client secret comes from Secrets Manager in AWS, read once per cold Lambda."""
import json

import boto3
from moto import mock_aws

from chalicelib.identity.upstream import UpstreamConfig, UpstreamProvider, _read_secrets_manager


def test_the_secret_is_read_as_a_string_or_from_json():
    with mock_aws():
        client = boto3.client("secretsmanager")
        plain = client.create_secret(Name="fc-plain", SecretString="s3cret\n")["ARN"]
        wrapped = client.create_secret(Name="fc-json", SecretString=json.dumps({"client_secret": "other"}))["ARN"]
        assert _read_secrets_manager(plain) == "s3cret"
        assert _read_secrets_manager(wrapped) == "other"


def test_the_secret_is_read_once():
    reads = []
    config = UpstreamConfig.parse({"issuer": "https://fc.example", "client_id": "x",
                                   "client_secret_arn": "arn:aws:secretsmanager:eu-west-3:1:secret:fc"},
                                  "https://testserver")
    provider = UpstreamProvider(config, secret_reader=lambda arn: reads.append(arn) or "s3cret")
    assert provider.client_secret() == provider.client_secret() == "s3cret"
    assert reads == ["arn:aws:secretsmanager:eu-west-3:1:secret:fc"]

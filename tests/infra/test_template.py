"""The packaged template as a whole: cfn-lint, portability, the function's environment, the
documents bucket, and the Chalice stages that leave IAM to it."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Set

from tests.infra.cfn import Resources, function, listed, of_type, referenced, role_statements
from tests.helpers.project import PROJECT

# Set by the template ahead of the code that will read them (none at present).
NOT_READ_YET: Set[str] = set()


def test_cfn_lint_finds_nothing(package_dir: Path) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), "--include-checks", "I", "--",
                             str(package_dir / "sam.yaml"), str(PROJECT / "infra/account.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_names_no_account_and_no_region(package_dir: Path) -> None:
    text = (package_dir / "sam.yaml").read_text()
    assert "123456789012" not in text  # Chalice's placeholder role, replaced by ApiHandlerRole
    assert "eu-west-3" not in text  # the region of `make package`, which must not leak in


def test_function_environment_names_the_stack_resources(resources: Resources) -> None:
    variables = function(resources)["Properties"]["Environment"]["Variables"]
    assert variables["STAGE"] == {"Ref": "Stage"}
    assert variables["PUBLIC_BASE_URL"] == {"Ref": "PublicBaseUrl"}
    (bucket,) = referenced(variables["DOCUMENTS_BUCKET"])
    assert resources[bucket]["Type"] == "AWS::S3::Bucket"


def test_signing_keys_are_wrapped_by_a_symmetric_key_the_function_may_only_encrypt_and_decrypt_with(
        resources: Resources) -> None:
    # chalicelib/oauth/keywrap.py: Encrypt once per new signing key, Decrypt once per key per
    # container, always with the purpose in the encryption context; signing never calls KMS.
    (key,) = referenced(function(resources)["Properties"]["Environment"]["Variables"]["SIGNING_WRAP_KEY_ID"])
    properties = resources[key]["Properties"]
    assert resources[key]["Type"] == "AWS::KMS::Key" and properties["EnableKeyRotation"] is True
    assert (properties.get("KeySpec", "SYMMETRIC_DEFAULT"), properties.get("KeyUsage")) == (
        "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    statements = [s for s in role_statements(resources) if key in referenced(s["Resource"])]
    assert {action for s in statements for action in listed(s["Action"])} == {"kms:Encrypt", "kms:Decrypt"}
    from chalicelib.oauth.keywrap import PURPOSE
    for statement in statements:
        assert statement["Condition"] == {"StringEquals": {"kms:EncryptionContext:purpose": PURPOSE}}
    # No asymmetric key is left, and nothing may sign with KMS any more.
    assert not [name for name, resource in of_type(resources, "AWS::KMS::Key").items()
                if resource["Properties"].get("KeyUsage") == "SIGN_VERIFY"]
    assert not [action for s in role_statements(resources) for action in listed(s["Action"])
                if action in ("kms:Sign", "kms:GetPublicKey", "kms:*")]


def test_claim_key_is_a_symmetric_key_of_its_own_that_the_function_can_use(resources: Resources) -> None:
    # chalicelib/oauth/claims.py: GenerateDataKey (AES_256) once per deployment, Decrypt once per
    # cold start, called directly (not through a service), so the ViaService-bound data key won't do.
    (key,) = referenced(function(resources)["Properties"]["Environment"]["Variables"]["CLAIM_KEY_ID"])
    properties = resources[key]["Properties"]
    assert resources[key]["Type"] == "AWS::KMS::Key"
    assert (properties.get("KeySpec", "SYMMETRIC_DEFAULT"), properties.get("KeyUsage")) == (
        "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    statements = [s for s in role_statements(resources) if key in referenced(s["Resource"])]
    assert {action for s in statements for action in listed(s["Action"])} == {"kms:GenerateDataKey", "kms:Decrypt"}
    # Only with the encryption context the code sends (claims.py _CONTEXT).
    from chalicelib.oauth.claims import _CONTEXT
    for statement in statements:
        assert statement["Condition"] == {"StringEquals": {
            f"kms:EncryptionContext:{name}": value for name, value in _CONTEXT.items()}}
    # Nothing at rest is encrypted with it: tables, bucket and logs use the data key.
    for name, resource in resources.items():
        if resource["Type"] in ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Logs::LogGroup",
                                "AWS::SNS::Topic", "AWS::SecretsManager::Secret"):
            assert key not in json.dumps(resource["Properties"]), name


def test_function_environment_is_what_the_configuration_reads(resources: Resources) -> None:
    # chalicelib/config.py is the one place the environment is read: a variable it does not
    # read is a typo or a setting nobody consumes.
    read = set(re.findall(r'env(?:\.get\(|\[)"([A-Z0-9_]+)"', (PROJECT / "chalicelib/config.py").read_text()))
    variables = set(function(resources)["Properties"]["Environment"]["Variables"])
    assert variables - read == NOT_READ_YET
    assert not NOT_READ_YET & read, "now read: remove it from NOT_READ_YET"


def test_documents_bucket_is_private_encrypted_and_versioned(resources: Resources) -> None:
    (bucket,) = of_type(resources, "AWS::S3::Bucket").values()
    properties = bucket["Properties"]
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    (key,) = referenced(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
    assert resources[key]["Type"] == "AWS::KMS::Key"


def test_deployed_stages_leave_iam_to_the_template() -> None:
    stages = json.loads((PROJECT / ".chalice/config.json").read_text())["stages"]
    assert set(stages["dev"]) == set(stages["prod"]), "dev and prod set the same options"
    for name in ("dev", "prod"):
        assert stages[name]["autogen_policy"] is False and stages[name]["manage_iam_role"] is False
        assert stages[name]["environment_variables"]["STAGE"] == name

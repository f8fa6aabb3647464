"""The packaged template as a whole: cfn-lint, portability, the function's environment, the
documents bucket, and the Chalice stages that leave IAM to it."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.infra.cfn import Resources, function, of_type, referenced
from tests.infra.conftest import PROJECT

# Set by the template ahead of the code that will read them (the documents issue).
NOT_READ_YET = {"DOCUMENTS_BUCKET"}


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
    signing_keys = set(referenced(variables["SIGNING_KEY_ID"]))
    assert signing_keys
    for key in signing_keys:
        properties = resources[key]["Properties"]
        assert (properties["KeySpec"], properties["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")


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

"""Citizen sign-in (FranceConnect) in the template: CITIZEN_OIDC as the code reads it, and the
client secret, encrypted and readable by the function alone, its value never in the template."""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping

from chalicelib.config import load_settings
from chalicelib.identity.upstream_config import CALLBACK_PATH, LOGGED_OUT_PATH, UpstreamConfig
from tests.infra.cfn import Resources, function, listed, referenced, role_statements

# What an operator passes for a stage (docs/deploy.md, section 3), and what the stack makes.
SAMPLE_PARAMETERS = {
    "PublicBaseUrl": "https://api.example.fr",
    "FranceConnectIssuer": "https://fc.example.gouv.fr/api/v2",
    "FranceConnectClientId": "6925fb8143c76eded44d32b40c0cb1006065f7f003de52712b78985704f39950",
    "FranceConnectAcrValues": "eidas1",
    "FranceConnectScope": "openid given_name family_name",
}
SAMPLE_SECRET_ARN = "arn:aws:secretsmanager:eu-west-3:111122223333:secret:mes-prod/franceconnect-client-secret-AbCdEf"
# Values that would break out of their JSON string, or add a field of their own.
HOSTILE_VALUES = ['x"', "x\\", 'x","client_secret_file":"/etc/passwd', "x\n", "x\\u0022"]


def citizen_oidc(resources: Resources) -> Dict[str, Any]:
    return function(resources)["Properties"]["Environment"]["Variables"]["CITIZEN_OIDC"]


def sub_template(resources: Resources) -> str:
    condition, configured, unconfigured = citizen_oidc(resources)["Fn::If"]
    return configured["Fn::Sub"]


def the_secret(resources: Resources) -> str:
    """The secret CITIZEN_OIDC names as its client_secret_arn."""
    (secret,) = [name for name in referenced({"Fn::Sub": sub_template(resources)})
                 if name in resources and resources[name]["Type"] == "AWS::SecretsManager::Secret"]
    return secret


def render(text: str, values: Mapping[str, str]) -> str:
    """Fn::Sub, for the names it is given (a missing one fails the test)."""
    return re.sub(r"\$\{([^}!]+)\}", lambda match: values[match.group(1)], text)


def parameters_in(resources: Resources, template: Dict[str, Any]) -> List[str]:
    return [name for name in re.findall(r"\$\{([^}!]+)\}", sub_template(resources))
            if name in template["Parameters"]]


def test_citizen_oidc_is_absent_unless_an_issuer_is_set(template: Dict[str, Any], resources: Resources) -> None:
    # chalicelib/config.py: an absent or empty CITIZEN_OIDC means no citizen sign-in.
    condition, _, unconfigured = citizen_oidc(resources)["Fn::If"]
    assert unconfigured == {"Ref": "AWS::NoValue"}
    assert template["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "FranceConnectIssuer"}, ""]}]}
    assert template["Parameters"]["FranceConnectIssuer"]["Default"] == ""
    assert load_settings({"STAGE": "prod"}).citizen_oidc is None


def test_citizen_oidc_renders_to_what_the_code_accepts(template: Dict[str, Any], resources: Resources) -> None:
    values = {**SAMPLE_PARAMETERS, the_secret(resources): SAMPLE_SECRET_ARN}
    rendered = render(sub_template(resources), values)
    settings = load_settings({"STAGE": "prod", "PUBLIC_BASE_URL": values["PublicBaseUrl"],
                              "CITIZEN_OIDC": rendered})
    assert settings.citizen_oidc is not None
    config = UpstreamConfig.parse(settings.citizen_oidc, settings.public_base_url)
    assert config.issuer == values["FranceConnectIssuer"]
    assert config.client_id == values["FranceConnectClientId"]
    assert config.client_secret_arn == SAMPLE_SECRET_ARN and config.client_secret_file is None
    assert config.acr_values == "eidas1" and config.scope == values["FranceConnectScope"]
    assert config.redirect_uri == values["PublicBaseUrl"] + CALLBACK_PATH
    # With the defaults of the optional parameters, and with no level of assurance asked.
    optional = {name: template["Parameters"][name]["Default"]
                for name in ("FranceConnectAcrValues", "FranceConnectScope")}
    config = UpstreamConfig.parse(json.loads(render(sub_template(resources), {**values, **optional})),
                                  values["PublicBaseUrl"])
    assert (config.acr_values, config.scope) == ("eidas1", "openid")
    config = UpstreamConfig.parse(json.loads(render(sub_template(resources), {**values, "FranceConnectAcrValues": ""})),
                                  values["PublicBaseUrl"])
    assert config.acr_values is None
    # Lambda's whole environment is limited to 4 KB.
    assert len(rendered) < 1024


def test_parameters_keep_citizen_oidc_well_formed(template: Dict[str, Any], resources: Resources) -> None:
    names = parameters_in(resources, template)
    assert set(names) >= {"FranceConnectIssuer", "FranceConnectClientId", "FranceConnectAcrValues",
                          "FranceConnectScope"}
    for name in names:
        parameter = template["Parameters"][name]
        pattern = parameter["AllowedPattern"]  # CloudFormation's (Java) syntax, Python's here too
        assert re.fullmatch(pattern, SAMPLE_PARAMETERS[name]), name
        assert re.fullmatch(pattern, parameter.get("Default", "")), name
        for value in HOSTILE_VALUES:
            assert not re.fullmatch(pattern, value), (name, value)
    issuer = template["Parameters"]["FranceConnectIssuer"]["AllowedPattern"]
    for wrong in ("http://fc.example.gouv.fr", "https://fc.example.gouv.fr/", "fc.example.gouv.fr"):
        assert not re.fullmatch(issuer, wrong), wrong
    assert not re.fullmatch(template["Parameters"]["FranceConnectScope"]["AllowedPattern"], "profile email")
    # An issuer without a client id is refused by CloudFormation, not by the first cold start.
    (rule,) = [rule for rule in template["Rules"].values()
               if rule.get("RuleCondition") == {"Fn::Not": [{"Fn::Equals": [{"Ref": "FranceConnectIssuer"}, ""]}]}]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "FranceConnectClientId"}, ""]}]}


def test_client_secret_is_encrypted_and_its_value_set_out_of_band(resources: Resources) -> None:
    secret = resources[the_secret(resources)]
    properties = secret["Properties"]
    # Created empty: the value never passes through the template, its parameters or its events.
    assert not {"SecretString", "GenerateSecretString"} & set(properties)
    (key,) = referenced(properties["KmsKeyId"])
    key_properties = resources[key]["Properties"]
    assert resources[key]["Type"] == "AWS::KMS::Key"
    assert key_properties["KeySpec"] == "SYMMETRIC_DEFAULT" and key_properties["EnableKeyRotation"] is True
    # The key that encrypts data at rest (the tables'), not the claim key the function calls directly.
    (table_key,) = referenced(resources["GrantsTable"]["Properties"]["SSESpecification"]["KMSMasterKeyId"])
    assert key == table_key


def test_role_reads_that_secret_and_no_other(resources: Resources) -> None:
    secret = the_secret(resources)
    statements = [s for s in role_statements(resources)
                  if any(action.startswith("secretsmanager:") for action in listed(s["Action"]))]
    assert {action for s in statements for action in listed(s["Action"])} == {"secretsmanager:GetSecretValue"}
    # FranceConnect's secret, and the referencing portal's ProConnect secret (tests/infra/test_portal_sign_in.py).
    assert sorted(r["Ref"] for s in statements for r in listed(s["Resource"])) == ["FranceConnectClientSecret",
                                                                                  "ProConnectClientSecret"]
    for statement in statements:
        assert "NotResource" not in statement
    # Its key opens it for the function through Secrets Manager only, and only this secret.
    (key,) = referenced(resources[secret]["Properties"]["KmsKeyId"])
    through_secrets_manager = [
        s for s in role_statements(resources) if key in referenced(s["Resource"])
        and any(v["Fn::Sub"].startswith("secretsmanager.")
                for v in listed(s.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService", [])))
        and s["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] == {"Ref": secret}]
    assert len(through_secrets_manager) == 1  # (the portal's secret has its own: test_portal_sign_in.py)
    (statement,) = through_secrets_manager
    assert listed(statement["Action"]) == ["kms:Decrypt"]
    assert statement["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] == {"Ref": secret}


def test_outputs_tell_operators_where_the_secret_goes_and_what_to_register(
        template: Dict[str, Any], resources: Resources) -> None:
    outputs = template["Outputs"]
    assert outputs["FranceConnectClientSecretArn"]["Value"] == {"Ref": the_secret(resources)}
    assert outputs["FranceConnectRedirectUri"]["Value"] == {"Fn::Sub": "${PublicBaseUrl}" + CALLBACK_PATH}
    assert outputs["FranceConnectPostLogoutRedirectUri"]["Value"] == {"Fn::Sub": "${PublicBaseUrl}" + LOGGED_OUT_PATH}

"""The referencing portal's sign-in (ProConnect) in the template: PORTAL_OIDC as the code reads it
(chalicelib/identity/portal.py), its client secret set out of band, readable by the function alone."""
from __future__ import annotations

import json
import re
from typing import Any, Dict

from chalicelib.config import load_settings
from chalicelib.identity.portal import portal_sign_in_for
from tests.infra.cfn import Resources, function, listed, referenced, role_statements

SAMPLE = {
    "PublicBaseUrl": "https://api.example.fr",
    "ProConnectIssuer": "https://auth.agentconnect.gouv.fr/api/v2",
    "ProConnectClientId": "c0ffee-portal",
    "ProConnectReviewers": '[{"email":"rapporteur@sante.gouv.fr","siret":"11000201100044"},{"sub":"abc-123"}]',
}
SECRET_ARN = "arn:aws:secretsmanager:eu-west-3:111122223333:secret:mes-prod/proconnect-client-secret-AbCdEf"
HOSTILE = ['x"', "x\\", 'x","client_secret_file":"/etc/passwd', "x\n"]


def portal_oidc(resources: Resources) -> Dict[str, Any]:
    return function(resources)["Properties"]["Environment"]["Variables"]["PORTAL_OIDC"]


def render(text: str, values: Dict[str, str]) -> str:
    return re.sub(r"\$\{([^}!]+)\}", lambda match: values[match.group(1)], text)


def test_portal_oidc_is_absent_unless_an_issuer_is_set(template: Dict[str, Any], resources: Resources) -> None:
    condition, _, unconfigured = portal_oidc(resources)["Fn::If"]
    assert unconfigured == {"Ref": "AWS::NoValue"}
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ProConnectIssuer"}, ""]}]}
    assert template["Parameters"]["ProConnectIssuer"]["Default"] == ""


def test_portal_oidc_renders_to_what_the_code_accepts(template: Dict[str, Any], resources: Resources) -> None:
    _, configured, _ = portal_oidc(resources)["Fn::If"]
    rendered = render(configured["Fn::Sub"], {**SAMPLE, "ProConnectClientSecret": SECRET_ARN})
    settings = load_settings({"STAGE": "prod", "PUBLIC_BASE_URL": SAMPLE["PublicBaseUrl"], "PORTAL_OIDC": rendered})
    sign_in = portal_sign_in_for(settings, sessions=None)
    assert sign_in is not None
    config = sign_in.provider.config
    assert (config.issuer, config.client_id) == (SAMPLE["ProConnectIssuer"], SAMPLE["ProConnectClientId"])
    assert config.client_secret_arn == SECRET_ARN and config.client_secret_file is None
    assert config.redirect_uri == SAMPLE["PublicBaseUrl"] + "/portal/signin/proconnect/callback"
    assert [(r.email, r.sub, r.siret) for r in sign_in.roles.reviewers] == [
        ("rapporteur@sante.gouv.fr", None, "11000201100044"), (None, "abc-123", None)]
    # With the default (nobody on the commission's list yet).
    empty = json.loads(render(configured["Fn::Sub"], {**SAMPLE, "ProConnectClientSecret": SECRET_ARN,
                                                      "ProConnectReviewers": template["Parameters"][
                                                          "ProConnectReviewers"]["Default"]}))
    assert empty["reviewers"] == []
    assert len(rendered) < 1024  # Lambda's whole environment is limited to 4 KB


def test_parameters_keep_portal_oidc_well_formed(template: Dict[str, Any]) -> None:
    parameters = template["Parameters"]
    for name in ("ProConnectIssuer", "ProConnectClientId", "ProConnectReviewers"):
        pattern = parameters[name]["AllowedPattern"]
        assert re.fullmatch(pattern, SAMPLE[name]), name
        assert re.fullmatch(pattern, parameters[name]["Default"]), name
        for value in HOSTILE:
            assert not re.fullmatch(pattern, value), (name, value)
    reviewers = parameters["ProConnectReviewers"]["AllowedPattern"]
    for wrong in ('[{"role":"admin"}]', '[{"email":"a"}],"x":1', '{"email":"a"}', '[{"email":"a\\""}]'):
        assert not re.fullmatch(reviewers, wrong), wrong
    (rule,) = [rule for rule in template["Rules"].values()
               if rule.get("RuleCondition") == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ProConnectIssuer"}, ""]}]}]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ProConnectClientId"}, ""]}]}


def test_its_secret_is_set_out_of_band_and_opened_through_secrets_manager_only(resources: Resources) -> None:
    secret = resources["ProConnectClientSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert not {"SecretString", "GenerateSecretString"} & set(secret["Properties"])
    _, configured, _ = portal_oidc(resources)["Fn::If"]
    assert "ProConnectClientSecret" in referenced(configured)
    reading = [s for s in role_statements(resources) if "secretsmanager:GetSecretValue" in listed(s["Action"])
               and listed(s["Resource"]) == [{"Ref": "ProConnectClientSecret"}]]
    assert len(reading) == 1
    opening = [s for s in role_statements(resources)
               if s.get("Condition", {}).get("StringEquals", {}).get("kms:EncryptionContext:SecretARN")
               == {"Ref": "ProConnectClientSecret"}]
    assert len(opening) == 1 and listed(opening[0]["Action"]) == ["kms:Decrypt"]

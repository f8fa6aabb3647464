"""Reading the packaged CloudFormation template: resources by type, and what intrinsics refer to."""
from __future__ import annotations

import re
from typing import Any, Dict, Iterator, List

Resources = Dict[str, Any]


def of_type(resources: Resources, kind: str) -> Dict[str, Any]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


# The API; the export worker (app.py's lambda_function); the notifications' stream fan-out, their
# delivery worker, the daily alert digests, the heartbeats and the consent expiry sweep (app.py's
# on_dynamodb_record, on_sqs_message and schedules).
FUNCTIONS = ("APIHandler", "ExportWorker", "NotifyFanout", "NotifyDelivery", "AlertDigest", "NotifyHeartbeat",
             "ConsentExpiry")


def function(resources: Resources, name: str = "APIHandler") -> Dict[str, Any]:
    assert set(of_type(resources, "AWS::Serverless::Function")) == set(FUNCTIONS)
    return resources[name]


def referenced(value: Any) -> Iterator[str]:
    """Logical ids that an intrinsic refers to (through Fn::If branches and Fn::Sub strings)."""
    if isinstance(value, dict):
        if "Ref" in value:
            yield value["Ref"]
        elif "Fn::GetAtt" in value:
            yield value["Fn::GetAtt"][0]
        elif "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            yield from (name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text))
        elif "Fn::If" in value:
            for branch in value["Fn::If"][1:]:
                yield from referenced(branch)
    elif isinstance(value, list):
        for item in value:
            yield from referenced(item)


def listed(value: Any) -> List[Any]:
    return value if isinstance(value, list) else [value]


def rest_api(resources: Resources) -> Dict[str, Any]:
    (api,) = of_type(resources, "AWS::Serverless::Api").values()
    return api["Properties"]


def role_statements(resources: Resources, name: str = "APIHandler") -> List[Dict[str, Any]]:
    role_ref = function(resources, name)["Properties"]["Role"]
    (role,) = referenced(role_ref)
    assert resources[role]["Type"] == "AWS::IAM::Role"
    assert "ManagedPolicyArns" not in resources[role]["Properties"]
    return [_when_enabled(statement) for policy in resources[role]["Properties"]["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]
            if not _when_enabled(statement).get("Ref") == "AWS::NoValue"]


def _when_enabled(statement: Dict[str, Any]) -> Dict[str, Any]:
    """A statement, or the one a condition adds (`Fn::If`: its statement when the condition holds)."""
    return statement["Fn::If"][1] if "Fn::If" in statement else statement

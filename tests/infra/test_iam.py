"""The function's IAM role: exactly the actions the code makes, on this stack's resources only."""
from __future__ import annotations

import re

from tests.infra.cfn import Resources, function, listed, of_type, referenced, role_statements

# Exactly what the function may do (issue 7): a new action is a deliberate change of this list.
EXPECTED_ACTIONS = {
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
    "kms:Sign", "kms:GetPublicKey", "kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt",
    "s3:GetObject", "s3:PutObject",
    "logs:CreateLogStream", "logs:PutLogEvents",
}
RESOURCE_TYPES_BY_SERVICE = {
    "dynamodb": {"AWS::DynamoDB::Table"}, "kms": {"AWS::KMS::Key"},
    "s3": {"AWS::S3::Bucket"}, "logs": {"AWS::Logs::LogGroup"},
}


def test_chalice_generates_no_role_of_its_own(resources: Resources) -> None:
    roles = of_type(resources, "AWS::IAM::Role")
    assert list(roles) == list(referenced(function(resources)["Properties"]["Role"]))


def test_role_allows_exactly_the_actions_the_code_makes(resources: Resources) -> None:
    actions = [action for s in role_statements(resources) for action in listed(s["Action"])]
    assert not [action for action in actions if "*" in action]
    assert set(actions) == EXPECTED_ACTIONS


def test_role_reaches_only_this_stacks_resources(resources: Resources) -> None:
    for statement in role_statements(resources):
        assert statement["Effect"] == "Allow"
        services = {action.split(":")[0] for action in listed(statement["Action"])}
        for resource in listed(statement["Resource"]):
            assert isinstance(resource, dict), f"literal resource {resource!r} in {statement['Sid']}"
            if "Fn::Sub" in resource:  # a wildcard only below one of ours: "${Table.Arn}/index/*"
                assert re.fullmatch(r"\$\{\w+\.Arn\}(/[\w*-]+)*", resource["Fn::Sub"]), resource
            targets = [t for t in referenced(resource) if t != "AWS::NoValue"]
            assert targets, statement["Sid"]
            for target in targets:
                allowed = set().union(*(RESOURCE_TYPES_BY_SERVICE[s] for s in services))
                assert resources[target]["Type"] in allowed, (statement["Sid"], target)


def test_data_key_is_usable_only_through_dynamodb_and_s3(resources: Resources) -> None:
    for statement in role_statements(resources):
        if {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"} & set(listed(statement["Action"])):
            via = statement["Condition"]["StringEquals"]["kms:ViaService"]
            assert [v["Fn::Sub"].split(".")[0] for v in via] == ["dynamodb", "s3"]


def test_role_reaches_every_table_and_its_indexes(resources: Resources) -> None:
    statements = role_statements(resources)
    tables = of_type(resources, "AWS::DynamoDB::Table")
    reading = [s for s in statements if "dynamodb:GetItem" in listed(s["Action"])]
    assert set(tables) <= {t for s in reading for t in referenced(s["Resource"])}
    indexed = {name for name, table in tables.items() if {"GlobalSecondaryIndexes", "LocalSecondaryIndexes"}
               & set(table["Properties"])}
    querying = [r["Fn::Sub"] for s in statements if "dynamodb:Query" in listed(s["Action"])
                for r in listed(s["Resource"]) if isinstance(r, dict) and "Fn::Sub" in r]
    assert indexed <= {sub[2:].split(".")[0] for sub in querying if sub.endswith("/index/*")}

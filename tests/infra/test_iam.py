"""The function's IAM role: exactly the actions the code makes, on this stack's resources only."""
from __future__ import annotations

import ast
import re
from typing import Dict, Iterator, List, Set, Tuple

import botocore.session
import pytest
from botocore import xform_name

from tests.infra.cfn import FUNCTIONS, Resources, function, listed, of_type, referenced, role_statements
from tests.helpers.project import PROJECT

# Exactly what the function may do (issue 7; issue 5 added s3:DeleteObject for documents and the
# claim key's GenerateDataKey/Decrypt; citizen sign-in, FranceConnect's client secret from Secrets
# Manager; issue 11 dropped ConditionCheckItem with the FHIR gate's checks in a transaction; issue 12
# replaced kms:Sign and kms:GetPublicKey by the signing key ring's Encrypt/Decrypt; issue 17 added
# lambda:InvokeFunction, on the export worker alone): a new action is a deliberate change of this list.
EXPECTED_ACTIONS = {
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:DescribeTable",
    "kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt",
    "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
    "secretsmanager:GetSecretValue",
    "lambda:InvokeFunction",
    "logs:CreateLogStream", "logs:PutLogEvents",
}
# The export worker reads one citizen's record, consents and history, and writes its job item and
# the archive: no grants table, no key of its own, nothing of the catalogue but the apps' names.
WORKER_ACTIONS = {
    ("dynamodb:Query", "RecordsTable"), ("dynamodb:GetItem", "RecordsTable"), ("dynamodb:UpdateItem", "RecordsTable"),
    ("dynamodb:DescribeTable", "RecordsTable"),
    ("dynamodb:Query", "ConsentsTable"), ("dynamodb:GetItem", "ConsentsTable"),
    ("dynamodb:DescribeTable", "ConsentsTable"),
    ("dynamodb:Query", "AuditTable"), ("dynamodb:GetItem", "AuditTable"), ("dynamodb:DescribeTable", "AuditTable"),
    ("dynamodb:BatchGetItem", "AppsTable"), ("dynamodb:DescribeTable", "AppsTable"),
    ("s3:GetObject", "DocumentsBucket/content/*"), ("s3:PutObject", "DocumentsBucket/exports/*"),
    ("s3:DeleteObject", "DocumentsBucket/exports/*"),
    ("kms:Decrypt", "DataKey"), ("kms:GenerateDataKey", "DataKey"),
    ("logs:CreateLogStream", "ExportWorkerLogGroup"), ("logs:PutLogEvents", "ExportWorkerLogGroup"),
}
# The notification functions (issue 16; docs/decisions/0017-subscriptions.md), each its own role.
# The fan-out reads the three streams (what Lambda's event source mapping needs), finds and numbers
# subscriptions, reads consents and apps' status items and alert settings, queues (and its event
# source mappings send the batches they give up on to the dead-letter queue). The stream actions,
# ListStreams included, are scoped to `<table>/stream/*` as AWS's own example policy for a Lambda
# reading DynamoDB streams scopes them (DynamoDB developer guide, "IAM policy to allow an AWS Lambda
# function to access DynamoDB stream records").
_STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                   "dynamodb:ListStreams")
FANOUT_ACTIONS = {
    *((action, f"{table}/stream/*") for action in _STREAM_ACTIONS
      for table in ("RecordsTable", "ConsentsTable", "AuditTable")),
    ("dynamodb:Query", "SubscriptionsTable"), ("dynamodb:UpdateItem", "SubscriptionsTable"),
    ("dynamodb:BatchGetItem", "SubscriptionsTable"), ("dynamodb:DescribeTable", "SubscriptionsTable"),
    ("dynamodb:BatchGetItem", "ConsentsTable"), ("dynamodb:DescribeTable", "ConsentsTable"),
    ("dynamodb:BatchGetItem", "AppsTable"), ("dynamodb:DescribeTable", "AppsTable"),
    ("dynamodb:UpdateItem", "AuditTable"),  # the accesses per app and day (issue 14's activity page)
    ("sqs:SendMessage", "NotifyQueue"), ("sqs:SendMessage", "NotifyDeadLetterQueue"),
    ("kms:Decrypt", "DataKey"),
    ("logs:CreateLogStream", "NotifyFanoutLogGroup"), ("logs:PutLogEvents", "NotifyFanoutLogGroup"),
}
# The delivery worker consumes the queue (and defers messages: backoff), reads what it checks again
# before sending (subscription, consent, app status, the record's hidden flag), writes delivery
# state and alerts, and e-mails alerts when a sender is set: no grants table, no key, no stream.
DELIVERY_ACTIONS = {
    ("sqs:ReceiveMessage", "NotifyQueue"), ("sqs:DeleteMessage", "NotifyQueue"),
    ("sqs:GetQueueAttributes", "NotifyQueue"), ("sqs:ChangeMessageVisibility", "NotifyQueue"),
    ("dynamodb:BatchGetItem", "SubscriptionsTable"), ("dynamodb:GetItem", "SubscriptionsTable"),
    ("dynamodb:UpdateItem", "SubscriptionsTable"), ("dynamodb:PutItem", "SubscriptionsTable"),
    ("dynamodb:DescribeTable", "SubscriptionsTable"),
    ("dynamodb:BatchGetItem", "ConsentsTable"), ("dynamodb:DescribeTable", "ConsentsTable"),
    ("dynamodb:BatchGetItem", "AppsTable"), ("dynamodb:DescribeTable", "AppsTable"),
    ("dynamodb:BatchGetItem", "RecordsTable"), ("dynamodb:DescribeTable", "RecordsTable"),
    ("kms:Decrypt", "DataKey"), ("ses:SendEmail", "AlertsEmailIdentity"),
    ("logs:CreateLogStream", "NotifyDeliveryLogGroup"), ("logs:PutLogEvents", "NotifyDeliveryLogGroup"),
}
# The daily digests: the sparse index of digest subscribers, their accesses, the apps' names.
DIGEST_ACTIONS = {
    ("dynamodb:GetItem", "SubscriptionsTable"), ("dynamodb:PutItem", "SubscriptionsTable"),
    ("dynamodb:UpdateItem", "SubscriptionsTable"), ("dynamodb:DescribeTable", "SubscriptionsTable"),
    ("dynamodb:Query", "SubscriptionsTable/index/*"),
    ("dynamodb:Query", "AuditTable"), ("dynamodb:DescribeTable", "AuditTable"),
    ("dynamodb:BatchGetItem", "AppsTable"), ("dynamodb:DescribeTable", "AppsTable"),
    ("kms:Decrypt", "DataKey"), ("ses:SendEmail", "AlertsEmailIdentity"),
    ("logs:CreateLogStream", "AlertDigestLogGroup"), ("logs:PutLogEvents", "AlertDigestLogGroup"),
}
# The heartbeats: the subscriptions due (their sparse index only), each claimed, queued.
HEARTBEAT_ACTIONS = {
    ("dynamodb:Query", "SubscriptionsTable/index/heartbeat-due"),
    ("dynamodb:UpdateItem", "SubscriptionsTable"), ("dynamodb:DescribeTable", "SubscriptionsTable"),
    ("sqs:SendMessage", "NotifyQueue"), ("kms:Decrypt", "DataKey"),
    ("logs:CreateLogStream", "NotifyHeartbeatLogGroup"), ("logs:PutLogEvents", "NotifyHeartbeatLogGroup"),
}
# The consent expiry sweep: the consents past their end (their sparse index only), each marked with
# its history entry in one transaction. It tells no app itself: the Consents stream does.
CONSENT_EXPIRY_ACTIONS = {
    ("dynamodb:Query", "ConsentsTable/index/expiring"),
    ("dynamodb:UpdateItem", "ConsentsTable"), ("dynamodb:PutItem", "ConsentsTable"),
    ("dynamodb:DescribeTable", "ConsentsTable"), ("kms:Decrypt", "DataKey"),
    ("logs:CreateLogStream", "ConsentExpiryLogGroup"), ("logs:PutLogEvents", "ConsentExpiryLogGroup"),
}
# Code that never runs on AWS: chalicelib/notify/local.py stands in for Lambda's event source
# mappings in local runs and tests (it reads moto's streams and queue).
LOCAL_ONLY = {"chalicelib/notify/local.py"}
# Calls of the code that the role does not allow yet, because the template does not deploy what
# they serve (none at present). Allowing one means its resource in the template, its ARN alone in
# the role and, for a new service, the service in the Makefile's SDK_SERVICES.
NOT_DEPLOYED_YET: Set[str] = set()
# SDK operations whose IAM action has another name (most share their operation's name).
IAM_ACTION_OF = {"lambda:Invoke": "lambda:InvokeFunction", "sqs:SendMessageBatch": "sqs:SendMessage"}
RESOURCE_TYPES_BY_SERVICE = {
    "dynamodb": {"AWS::DynamoDB::Table"}, "kms": {"AWS::KMS::Key"},
    "s3": {"AWS::S3::Bucket"}, "logs": {"AWS::Logs::LogGroup"},
    "secretsmanager": {"AWS::SecretsManager::Secret"}, "lambda": {"AWS::Serverless::Function"},
    "sqs": {"AWS::SQS::Queue"}, "ses": {"AWS::SES::EmailIdentity"},
}


def test_chalice_generates_no_role_of_its_own(resources: Resources) -> None:
    roles = of_type(resources, "AWS::IAM::Role")
    used = {role for name in FUNCTIONS for role in referenced(function(resources, name)["Properties"]["Role"])}
    assert set(roles) == used
    assert len(roles) == len(FUNCTIONS)  # each function its own role


def granted_to(resources: Resources, name: str) -> Set[Tuple[str, str]]:
    """(action, resource) pairs a function's role allows, resources by logical id (and path)."""
    granted = set()
    for statement in role_statements(resources, name):
        assert statement["Effect"] == "Allow"
        for resource in listed(statement["Resource"]):
            if "Fn::Sub" in resource and resource["Fn::Sub"].startswith("arn:"):  # an ARN built from a Ref
                target = next(t for t in referenced(resource) if not t.startswith("AWS::"))
            elif "Fn::Sub" in resource:
                target = resource["Fn::Sub"].replace("${", "").replace(".Arn}", "")
            else:
                target = next(referenced(resource))
            granted |= {(action, target) for action in listed(statement["Action"])}
    return granted


def test_the_export_worker_may_do_exactly_its_job(resources: Resources) -> None:
    assert granted_to(resources, "ExportWorker") == WORKER_ACTIONS
    (data_key,) = [s for s in role_statements(resources, "ExportWorker") if "kms:Decrypt" in listed(s["Action"])]
    assert [v["Fn::Sub"].split(".")[0] for v in data_key["Condition"]["StringEquals"]["kms:ViaService"]] == \
        ["dynamodb", "s3"]


@pytest.mark.parametrize("name, expected", [("NotifyFanout", FANOUT_ACTIONS), ("NotifyDelivery", DELIVERY_ACTIONS),
                                            ("AlertDigest", DIGEST_ACTIONS),
                                            ("NotifyHeartbeat", HEARTBEAT_ACTIONS),
                                            ("ConsentExpiry", CONSENT_EXPIRY_ACTIONS)])
def test_the_notification_functions_may_do_exactly_their_jobs(resources: Resources, name: str,
                                                              expected: Set[Tuple[str, str]]) -> None:
    assert granted_to(resources, name) == expected
    for statement in role_statements(resources, name):
        if "kms:Decrypt" in listed(statement["Action"]):
            assert statement["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Sub"].startswith("dynamodb.")


def test_the_notification_functions_are_fed_by_the_streams_and_the_queue(resources: Resources) -> None:
    sources = function(resources, "NotifyFanout")["Properties"]["Events"]
    streams = {next(referenced(source["Properties"]["Stream"])) for source in sources.values()}
    assert streams == {"RecordsTable", "ConsentsTable", "AuditTable"}
    for source in sources.values():
        assert source["Type"] == "DynamoDB" and source["Properties"]["BisectBatchOnFunctionError"] is True
        (dlq,) = referenced(source["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
        assert dlq == "NotifyDeadLetterQueue"
    for table, view in (("RecordsTable", "NEW_AND_OLD_IMAGES"), ("ConsentsTable", "NEW_AND_OLD_IMAGES"),
                        ("AuditTable", "NEW_IMAGE")):
        assert resources[table]["Properties"]["StreamSpecification"] == {"StreamViewType": view}
    (queue_source,) = function(resources, "NotifyDelivery")["Properties"]["Events"].values()
    assert list(referenced(queue_source["Properties"]["Queue"])) == ["NotifyQueue"]
    assert queue_source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    redrive = resources["NotifyQueue"]["Properties"]["RedrivePolicy"]
    assert list(referenced(redrive["deadLetterTargetArn"])) == ["NotifyDeadLetterQueue"]
    alarm = resources["NotifyDeadLetterAlarm"]["Properties"]
    assert list(referenced(alarm["Dimensions"][0]["Value"])) == ["NotifyDeadLetterQueue"]
    assert alarm["Threshold"] == 1 and alarm["AlarmActions"]


def test_the_sweeps_run_on_their_schedules(resources: Resources) -> None:
    # ONC expects a revocation to bite within an hour: an expired consent is told within 15 minutes.
    schedules = {name: [event["Properties"]["Schedule"] for event in
                        function(resources, name)["Properties"]["Events"].values()]
                 for name in ("ConsentExpiry", "NotifyHeartbeat", "AlertDigest")}
    assert schedules == {"ConsentExpiry": ["rate(15 minutes)"], "NotifyHeartbeat": ["rate(1 minute)"],
                         "AlertDigest": ["cron(0 6 * * ? *)"]}


def test_only_the_api_starts_the_export_worker(resources: Resources) -> None:
    (invoke,) = [s for s in role_statements(resources) if "lambda:InvokeFunction" in listed(s["Action"])]
    assert list(referenced(invoke["Resource"])) == ["ExportWorker"]
    variables = function(resources)["Properties"]["Environment"]["Variables"]
    assert list(referenced(variables["EXPORT_WORKER_FUNCTION"])) == ["ExportWorker"]


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


def key_of(resources: Resources, variable: str) -> str:
    (key,) = referenced(function(resources)["Properties"]["Environment"]["Variables"][variable])
    return key


def test_data_key_is_usable_only_through_aws_services(resources: Resources) -> None:
    # The function calls KMS itself with two symmetric keys only: the claim key
    # (chalicelib/oauth/claims.py), only to make and open the claim data key, and the signing wrap
    # key (chalicelib/oauth/keywrap.py), only to wrap and unwrap signing keys. The data key it
    # uses through DynamoDB and S3, and through Secrets Manager only to open one secret.
    for statement in role_statements(resources):
        actions = set(listed(statement["Action"]))
        if not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"} & actions:
            continue
        if list(referenced(statement["Resource"])) == [key_of(resources, "CLAIM_KEY_ID")]:
            assert actions == {"kms:GenerateDataKey", "kms:Decrypt"}
            continue
        if list(referenced(statement["Resource"])) == [key_of(resources, "SIGNING_WRAP_KEY_ID")]:
            assert actions == {"kms:Encrypt", "kms:Decrypt"}
            continue
        condition = statement["Condition"]["StringEquals"]
        via = [v["Fn::Sub"].split(".")[0] for v in listed(condition["kms:ViaService"])]
        if via == ["secretsmanager"]:
            assert actions == {"kms:Decrypt"}, statement["Sid"]
            (secret,) = referenced(condition["kms:EncryptionContext:SecretARN"])
            assert resources[secret]["Type"] == "AWS::SecretsManager::Secret"
        else:
            assert via == ["dynamodb", "s3"], statement["Sid"]


def sdk_calls_in_code() -> Iterator[Tuple[str, str, str]]:
    """(service, operation, enclosing function) of every call the code makes on a boto3 client
    it creates itself (`boto3.client("kms")`, ...), pre-signed URLs included. DynamoDB goes
    through PynamoDB, whose calls are tied to the tables instead."""
    sources = [PROJECT / "app.py", *sorted(path for path in (PROJECT / "chalicelib").rglob("*.py")
                                           if str(path.relative_to(PROJECT)) not in LOCAL_ONLY)]
    trees = [ast.parse(path.read_text(), str(path)) for path in sources]
    services = {node.args[0].value for tree in trees for node in ast.walk(tree)
                if isinstance(node, ast.Call) and ast.unparse(node.func) == "boto3.client"
                and node.args and isinstance(node.args[0], ast.Constant)}
    session = botocore.session.get_session()
    operations: Dict[str, List[Tuple[str, str]]] = {}
    for service in sorted(services):
        for name in session.get_service_model(service).operation_names:
            operations.setdefault(xform_name(name), []).append((service, name))

    def visit(node: ast.AST, enclosing: str) -> Iterator[Tuple[str, str, str]]:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            enclosing = node.name
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and "client" in ast.unparse(node.func.value).lower():
            method = node.func.attr
            if method == "generate_presigned_url":  # signed as the role: allowed only if the role may
                argument = node.args[0] if node.args else next(
                    k.value for k in node.keywords if k.arg == "ClientMethod")
                method = argument.value
            elif method == "generate_presigned_post":  # a browser's upload, signed as the role: a PutObject
                method = "put_object"
            for service, operation in operations.get(method, []):
                yield service, operation, enclosing
        for child in ast.iter_child_nodes(node):
            yield from visit(child, enclosing)

    for tree in trees:
        yield from visit(tree, "")


def test_role_allows_every_sdk_call_the_code_makes(resources: Resources) -> None:
    # Each function's calls are in its own role; the scan sees the code as one: every call must be
    # allowed to some function (the exact lists above say which).
    allowed = {action for name in FUNCTIONS for s in role_statements(resources, name) for action in listed(s["Action"])}
    calls = list(sdk_calls_in_code())
    assert {service for service, _, _ in calls} >= {"kms", "s3"}, "the scan no longer sees the code's clients"
    # `ensure_*` functions create what the template creates on AWS (local runs and tests only).
    missing: Dict[str, Set[str]] = {}
    for service, operation, enclosing in calls:
        action = IAM_ACTION_OF.get(f"{service}:{operation}", f"{service}:{operation}")
        if action not in allowed and not enclosing.startswith("ensure_"):
            missing.setdefault(action, set()).add(enclosing)
    assert set(missing) == NOT_DEPLOYED_YET, "the code calls what the role does not allow: " + ", ".join(
        f"{action} (in {', '.join(sorted(where))})" for action, where in sorted(missing.items())
        if action not in NOT_DEPLOYED_YET) + "; or now allowed: remove it from NOT_DEPLOYED_YET"


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


def test_no_transaction_needs_an_action_the_roles_lack(resources: Resources) -> None:
    # A ConditionCheck in a transaction is authorised as dynamodb:ConditionCheckItem, which no role
    # has (moto checks no IAM: only this scan would see it before AWS did).
    allowed = {action for name in FUNCTIONS for s in role_statements(resources, name) for action in listed(s["Action"])}
    checks = [str(path.relative_to(PROJECT)) for path in sorted((PROJECT / "chalicelib").rglob("*.py"))
              if ".condition_check(" in path.read_text(encoding="utf-8")]
    assert not checks or "dynamodb:ConditionCheckItem" in allowed, checks


"""API Gateway around the function: its own errors in our shape, throttling, access logs, alarms."""
from __future__ import annotations

import json

from chalicelib import errors
from tests.infra.cfn import Resources, of_type, referenced, rest_api

def test_gateway_errors_reach_clients_in_our_error_shape(resources: Resources) -> None:
    responses = rest_api(resources)["GatewayResponses"]
    assert {"MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "REQUEST_TOO_LARGE",
            "DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    # The error classes of chalicelib/errors.py itself (other modules may add their own codes).
    ours = {cls.code: cls.status for cls in vars(errors).values()
            if isinstance(cls, type) and issubclass(cls, errors.DomainError) and cls is not errors.DomainError}
    for kind, response in responses.items():
        # API Gateway renders $context.error.messageString as a quoted JSON string.
        rendered = response["ResponseTemplates"]["application/json"].replace(
            "$context.error.messageString", json.dumps("Gateway said \"no\""))
        body = json.loads(rendered)
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, kind
        assert body["error"]["details"] == [] and body["error"]["message"], kind
        code, status = body["error"]["code"], response.get("StatusCode")
        assert code in set(ours), kind
        if status is not None and code in ours and int(status) < 500:
            assert int(status) == ours[code], kind
        assert response["ResponseParameters"]["Headers"]["Access-Control-Allow-Origin"] == "'*'", kind


def test_api_is_throttled_and_access_logged(resources: Resources) -> None:
    api = rest_api(resources)
    (settings_for_all,) = [m for m in api["MethodSettings"] if m["ResourcePath"] == "/*"]
    assert "ThrottlingRateLimit" in settings_for_all and "ThrottlingBurstLimit" in settings_for_all
    (group,) = referenced(api["AccessLogSetting"]["DestinationArn"])
    assert resources[group]["Type"] == "AWS::Logs::LogGroup"
    assert "$context.status" in api["AccessLogSetting"]["Format"]
    assert api["EndpointConfiguration"] == "REGIONAL"


def test_alarms_watch_5xx_and_throttling(resources: Resources) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms.values()
                 if "MetricName" in a["Properties"]}
    assert by_metric["5XXError"]["Namespace"] == "AWS/ApiGateway"
    dimensions = {d["Name"]: d["Value"] for d in by_metric["5XXError"]["Dimensions"]}
    assert dimensions["ApiName"] == rest_api(resources)["Name"]
    assert by_metric["Throttles"]["Namespace"] == "AWS/Lambda"
    # API Gateway's throttling is counted from the access log, whose 429s a metric filter counts.
    (throttled,) = of_type(resources, "AWS::Logs::MetricFilter").values()
    assert "429" in throttled["Properties"]["FilterPattern"]
    (transformation,) = throttled["Properties"]["MetricTransformations"]
    assert by_metric[transformation["MetricName"]]["Namespace"] == transformation["MetricNamespace"]
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"], name


def test_every_table_is_watched_for_throttling(resources: Resources) -> None:
    watched = {(table, metric["MetricStat"]["Metric"]["MetricName"])
               for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values()
               for metric in alarm["Properties"].get("Metrics", []) if "MetricStat" in metric
               if metric["MetricStat"]["Metric"]["MetricName"].endswith("ThrottleEvents")
               for dimension in metric["MetricStat"]["Metric"]["Dimensions"]
               for table in referenced(dimension["Value"])}
    for table in of_type(resources, "AWS::DynamoDB::Table"):
        assert {(table, "ReadThrottleEvents"), (table, "WriteThrottleEvents")} <= watched, table


def test_every_table_is_watched_for_transaction_conflicts(resources: Resources) -> None:
    """The FHIR path holds no shared item (decision 0010): conflicts that come back are an alarm."""
    watched = {table for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values()
               for metric in alarm["Properties"].get("Metrics", []) if "MetricStat" in metric
               if metric["MetricStat"]["Metric"]["MetricName"] == "TransactionConflict"
               for dimension in metric["MetricStat"]["Metric"]["Dimensions"]
               for table in referenced(dimension["Value"])}
    assert watched == set(of_type(resources, "AWS::DynamoDB::Table"))


def test_metric_math_alarms_stay_within_cloudwatch_limits(resources: Resources) -> None:
    # A hard limit that cfn-lint does not know: CloudFormation would fail at deployment.
    for name, alarm in of_type(resources, "AWS::CloudWatch::Alarm").items():
        metrics = alarm["Properties"].get("Metrics", [])
        assert len([m for m in metrics if "MetricStat" in m]) <= 10, name
        assert len([m for m in metrics if "Expression" in m]) <= 10, name
        assert not metrics or len([m for m in metrics if m.get("ReturnData", True)]) == 1, name

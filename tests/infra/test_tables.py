"""The tables in the template are the PynamoDB models' tables: derived from the models' own
schema, so that the two cannot drift."""
from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, Dict, Iterator, List, Set, Tuple, Type

from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from chalicelib.config import load_settings, settings
from chalicelib.storage import MODELS
from tests.infra.cfn import Resources, function, of_type, referenced


def _keys(key_schema: List[Dict[str, str]]) -> Set[Tuple[str, str]]:
    return {(k["AttributeName"], k["KeyType"]) for k in key_schema}


def _projection(projection: Dict[str, Any]) -> Tuple[str, frozenset]:
    return projection["ProjectionType"], frozenset(projection.get("NonKeyAttributes", []))


def _model_and_subclasses(model: Type[Model]) -> Iterator[Type[Model]]:
    yield model
    for subclass in model.__subclasses__():
        yield from _model_and_subclasses(subclass)


def model_table(model: Type[Model]) -> Dict[str, Any]:
    """What the template must declare for a model: from PynamoDB's own schema of it."""
    schema = model._get_schema()
    ttl = {attribute.attr_name for cls in _model_and_subclasses(model)
           for attribute in cls.get_attributes().values() if isinstance(attribute, TTLAttribute)}
    return {
        "billing": model.Meta.billing_mode,
        "attributes": {(a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]},
        "keys": _keys(schema["key_schema"]),
        "gsi": {i["index_name"]: (_keys(i["key_schema"]), _projection(i["projection"]))
                for i in schema["global_secondary_indexes"]},
        "lsi": {i["index_name"]: (_keys(i["key_schema"]), _projection(i["projection"]))
                for i in schema["local_secondary_indexes"]},
        "ttl": ttl,
    }


def template_table(properties: Dict[str, Any]) -> Dict[str, Any]:
    ttl = properties.get("TimeToLiveSpecification", {})
    return {
        "billing": properties.get("BillingMode"),
        "attributes": {(a["AttributeName"], a["AttributeType"]) for a in properties["AttributeDefinitions"]},
        "keys": _keys(properties["KeySchema"]),
        "gsi": {i["IndexName"]: (_keys(i["KeySchema"]), _projection(i["Projection"]))
                for i in properties.get("GlobalSecondaryIndexes", [])},
        "lsi": {i["IndexName"]: (_keys(i["KeySchema"]), _projection(i["Projection"]))
                for i in properties.get("LocalSecondaryIndexes", [])},
        "ttl": {ttl["AttributeName"]} if ttl.get("Enabled") else set(),
    }


def settings_field_of(variable: str) -> str:
    """Which setting an environment variable feeds, asked of chalicelib.config itself."""
    probe = load_settings({"STAGE": "probe", variable: "probe-value"})
    matches = [f.name for f in fields(probe) if getattr(probe, f.name) == "probe-value"]
    assert len(matches) == 1, f"{variable} feeds {matches or 'no setting'}"
    return matches[0]


def tables_by_model(resources: Resources) -> Dict[Type[Model], Tuple[str, str]]:
    """Each model, with the table resource and the environment variable that name its table."""
    tables = of_type(resources, "AWS::DynamoDB::Table")
    found: Dict[Type[Model], Tuple[str, str]] = {}
    for variable, value in function(resources)["Properties"]["Environment"]["Variables"].items():
        if isinstance(value, dict) and value.get("Ref") in tables:
            table_name = getattr(settings, settings_field_of(variable))
            (model,) = [m for m in MODELS if m.Meta.table_name == table_name]
            found[model] = (value["Ref"], variable)
    missing = [model for model in MODELS if model not in found]
    assert not missing, "tables missing from infra/template.yaml; PynamoDB says:\n" + "\n".join(
        table_snippet(model) for model in missing)
    assert {name for name, _ in found.values()} == set(tables), "a table no model uses"
    return found


def table_snippet(model: Type[Model]) -> str:
    """The properties of a model's table as PynamoDB sees them, to paste into the template (with
    the hardening of the other tables, its environment variable and its place in the role)."""
    schema = model._get_schema()

    def index(i: Dict[str, Any]) -> Dict[str, Any]:
        return {"IndexName": i["index_name"], "KeySchema": i["key_schema"], "Projection": i["projection"]}

    properties = {"TableName": model.Meta.table_name, "BillingMode": model.Meta.billing_mode,
                  "AttributeDefinitions": schema["attribute_definitions"], "KeySchema": schema["key_schema"],
                  "GlobalSecondaryIndexes": [index(i) for i in schema["global_secondary_indexes"]],
                  "LocalSecondaryIndexes": [index(i) for i in schema["local_secondary_indexes"]],
                  "TimeToLiveSpecification": next(({"AttributeName": name, "Enabled": True}
                                                   for name in sorted(model_table(model)["ttl"])), None)}
    return f"{model.__name__}: " + json.dumps({k: v for k, v in properties.items() if v}, indent=2)


def test_every_model_has_its_table_in_the_template(resources: Resources) -> None:
    for model, (name, _) in tables_by_model(resources).items():
        declared, expected = template_table(resources[name]["Properties"]), model_table(model)
        for aspect in expected:
            assert declared[aspect] == expected[aspect], f"{name} vs {model.__name__}: {aspect}"


def test_table_names_follow_the_configuration_default(resources: Resources) -> None:
    # Operators and scripts can then find a stage's tables from STAGE alone, as the code does.
    for _, (name, variable) in tables_by_model(resources).items():
        default = getattr(load_settings({"STAGE": "${Stage}"}), settings_field_of(variable))
        assert resources[name]["Properties"]["TableName"] == {"Fn::Sub": default}


def test_tables_are_hardened(resources: Resources) -> None:
    for name, table in of_type(resources, "AWS::DynamoDB::Table").items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", name
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert properties["DeletionProtectionEnabled"] is True, name
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", name
        sse = properties["SSESpecification"]
        assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS", name
        (key,) = referenced(sse["KMSMasterKeyId"])
        assert resources[key]["Properties"]["KeySpec"] == "SYMMETRIC_DEFAULT", name
        assert resources[key]["Properties"]["EnableKeyRotation"] is True, name

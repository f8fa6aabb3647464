"""The template against the capacity plan (docs/scale.md): throttles above the peak and a share of
their own for the token endpoint, reserved concurrency, and a CDN that keeps only public answers."""
from __future__ import annotations

from typing import Any, Dict

import yaml

from tests.infra.cfn import Resources, function, of_type, referenced, rest_api
from tests.helpers.project import PROJECT

PEAK = {"fhir": 2000, "catalogue": 500, "token": 1700}  # requests a second (issue 12, docs/scale.md)


def stage_settings() -> Dict[str, Any]:
    class Loader(yaml.SafeLoader):
        pass
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((PROJECT / "infra/template.yaml").read_text(), Loader=Loader)
    return template["Mappings"]["StageSettings"]


def test_prod_throttles_sit_above_the_peak_and_below_the_account_limit() -> None:
    prod = stage_settings()["prod"]
    assert sum(PEAK.values()) <= prod["ThrottlingRateLimit"] <= 10_000
    assert PEAK["token"] <= prod["TokenRateLimit"] < prod["ThrottlingRateLimit"]


def test_the_token_and_sign_in_endpoints_have_throttles_of_their_own(resources: Resources) -> None:
    settings = {(m["ResourcePath"], m["HttpMethod"]): m for m in rest_api(resources)["MethodSettings"]}
    assert {("/~1oauth~1token", "POST"), ("/~1oauth~1authorize", "GET"), ("/~1oauth~1authorize", "POST")} \
        <= set(settings)
    for method in settings.values():
        assert "ThrottlingRateLimit" in method and method["LoggingLevel"] == "OFF" and not method["DataTraceEnabled"]


def test_the_function_has_reserved_concurrency_above_what_the_peak_needs(resources: Resources) -> None:
    assert "ReservedConcurrentExecutions" in function(resources)["Properties"]
    needed_at_peak = sum(PEAK.values()) * 0.030  # 30 ms a request (bench/fhir.py, docs/scale.md)
    assert stage_settings()["prod"]["ReservedConcurrency"] >= 3 * needed_at_peak


def test_the_cdn_keeps_only_what_the_function_marks_public(resources: Resources) -> None:
    (distribution,) = of_type(resources, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert "RestAPI" in set(referenced(origin["DomainName"])) and origin["OriginPath"] == "/api"
    behaviour = config["DefaultCacheBehavior"]
    assert "CacheBehaviors" not in config, "one behaviour: the function decides what is cacheable"
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    (policy_name,) = referenced(behaviour["CachePolicyId"])
    policy = resources[policy_name]["Properties"]["CachePolicyConfig"]
    assert policy["MinTTL"] == 0 and policy["DefaultTTL"] == 0  # no-store and private are never kept
    assert policy["MaxTTL"] <= 300
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    # Whatever identifies a person is in the key: no answer made for one is served to another.
    assert "Authorization" in key["HeadersConfig"]["Headers"] and "Accept-Language" in key["HeadersConfig"]["Headers"]
    assert key["CookiesConfig"]["CookieBehavior"] == "all" and key["QueryStringsConfig"]["QueryStringBehavior"] == "all"

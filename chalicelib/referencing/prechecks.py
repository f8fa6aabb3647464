"""Automated pre-checks of a listing: every failure with its criterion and where it is."""
from __future__ import annotations

import copy
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional

import jsonschema

from chalicelib.catalog.compliance import track_of
from chalicelib.catalog.ecoscore import compute_ecoscore
from chalicelib.catalog.referential import Referential
from chalicelib.errors import DomainError

Failure = Dict[str, Any]
# Third parties that make a health app track its users: the CNIL's guidelines on trackers
# (deliberation 2020-091) require consent for them, which a health service cannot make free.
FORBIDDEN_THIRD_PARTIES = {"advertising", "audience_measurement"}
PENTEST_MAX_AGE = timedelta(days=365)


def _pointer(path) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path) if path else ""


def _without_required(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_required(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [_without_required(item) for item in schema]
    return schema


@lru_cache(maxsize=4)
def _validators(referential: Referential):
    schema = referential.listing_schema
    full = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    draft = jsonschema.Draft202012Validator(_without_required(copy.deepcopy(schema)),
                                            format_checker=jsonschema.FormatChecker())
    return full, draft


# The criterion a part of the listing serves, so that a schema failure names it too.
_CRITERION_OF_FIELD = {"redirect_uris": "INT-02", "client": "INT-02", "scopes": "ETH-09",
                       "third_parties": "ETH-05", "ecoscore": "ETH-32", "urls": "ETH-02"}


def _criterion_of(path) -> Optional[str]:
    parts = list(path)
    if len(parts) >= 2 and parts[0] == "evidence":
        return str(parts[1])
    return _CRITERION_OF_FIELD.get(str(parts[0])) if parts else None


def _path_of(error: jsonschema.ValidationError) -> List[Any]:
    """Where the problem is; a missing property is pointed at, not its parent."""
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        named = [name for name in missing if f"'{name}'" in error.message]
        if named:
            path.append(named[0])
    return path


def schema_failures(document: Any, referential: Referential, complete: bool) -> List[Failure]:
    """JSON pointers of every field that breaks the schema; a draft may leave fields out."""
    full, draft = _validators(referential)
    validator = full if complete else draft
    failures = [{"pointer": _pointer(path), "message": error.message, "criterion": _criterion_of(path)}
                for error in validator.iter_errors(document) for path in [_path_of(error)]]
    return sorted(failures, key=lambda failure: failure["pointer"])


def siret_is_valid(siret: str) -> bool:
    """Luhn checksum of a SIRET (La Poste's establishments use another rule and are accepted)."""
    if len(siret) != 14 or not siret.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(siret)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    if total % 10 == 0:
        return True
    return siret.startswith("356000000") and sum(int(d) for d in siret) % 5 == 0


def organisation_failures(document: Mapping[str, Any], organisation_siret: str) -> List[Failure]:
    siret = (document.get("publisher") or {}).get("siret")
    if siret is not None and siret != organisation_siret:
        return [{"pointer": "/publisher/siret", "criterion": None,
                 "message": "must be the SIRET of your organisation, as in your sign-in"}]
    return []


def _parse_date(value: Optional[str]) -> Optional[date]:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def run_prechecks(document: Any, referential: Referential, today: date,
                  organisation_siret: str) -> List[Failure]:
    """All failures at once; an empty list means the listing can go to the commission."""
    failures = schema_failures(document, referential, complete=True)
    if not isinstance(document, dict):
        return failures
    failures += organisation_failures(document, organisation_siret)
    for rules in (_identity_failures, _evidence_failures, _exchange_failures):
        try:
            found = rules(document, referential, today)
        except (KeyError, TypeError, AttributeError, IndexError, ValueError):
            continue  # a section the schema already reported as malformed
        failures += [f for f in found if f not in failures]
    return failures


def _identity_failures(document, referential, today: date) -> List[Failure]:
    failures = []
    if not siret_is_valid(document["publisher"]["siret"]):
        failures.append({"pointer": "/publisher/siret", "criterion": None,
                         "message": "not a valid SIRET (checksum)"})
    if document["category"] not in referential.categories:
        failures.append({"pointer": "/category", "criterion": None,
                         "message": f"unknown category; one of: {', '.join(referential.categories)}"})
    return failures


def _evidence_failures(document, referential, today: date) -> List[Failure]:
    failures = []
    evidence = document["evidence"]
    for criterion in referential.criteria_for(track_of(document)):
        criterion_id = criterion["id"]
        if criterion_id == "ETH-32":
            continue  # the écoscore section is its evidence, checked below
        if criterion["mandatory"] and criterion_id not in evidence:
            failures.append({"pointer": f"/evidence/{criterion_id}", "criterion": criterion_id,
                             "message": f"mandatory criterion without evidence: {criterion['title']['en']}"})
    for criterion_id, item in evidence.items():
        criterion = referential.criteria.get(criterion_id)
        if criterion is None:
            failures.append({"pointer": f"/evidence/{criterion_id}", "criterion": criterion_id,
                             "message": "unknown criterion"})
        elif item["kind"] != criterion["evidence"]:
            failures.append({"pointer": f"/evidence/{criterion_id}/kind", "criterion": criterion_id,
                             "message": f"this criterion is proven by a {criterion['evidence']}"})
    hds = evidence.get("SEC-01")
    if hds and hds.get("kind") == "certificate" and (_parse_date(hds["valid_until"]) or today) < today:
        failures.append({"pointer": "/evidence/SEC-01/valid_until", "criterion": "SEC-01",
                         "message": f"the HDS certificate expired on {hds['valid_until']}"})
    pentest = evidence.get("SEC-03")
    if pentest and pentest.get("kind") == "test_report":
        tested = _parse_date(pentest["date"])
        if tested is None or tested > today or today - tested > PENTEST_MAX_AGE:
            failures.append({"pointer": "/evidence/SEC-03/date", "criterion": "SEC-03",
                             "message": "the penetration test must be dated within the last 12 months"})
    return failures


def _exchange_failures(document, referential, today: date) -> List[Failure]:
    failures = []
    seen = set()
    for index, item in enumerate(document["scopes"]):
        if item["scope"] not in referential.data_scopes:
            failures.append({"pointer": f"/scopes/{index}/scope", "criterion": "ETH-09",
                             "message": f"unknown scope '{item['scope']}'; one of: "
                                        f"{', '.join(referential.data_scopes)}"})
        if item["scope"] in seen:
            failures.append({"pointer": f"/scopes/{index}/scope", "criterion": "ETH-09",
                             "message": "scope requested twice"})
        seen.add(item["scope"])
    if document["offline_access"] and not document["scopes"]:
        failures.append({"pointer": "/offline_access", "criterion": "ETH-09",
                         "message": "offline access only makes sense with data scopes"})
    for index, party in enumerate(document["third_parties"]):
        if party["purpose"] in FORBIDDEN_THIRD_PARTIES:
            failures.append({"pointer": f"/third_parties/{index}/purpose", "criterion": "ETH-05",
                             "message": f"{party['name']}: advertising or audience-tracking third parties "
                                        "are not allowed in a referenced health app"})
    try:
        compute_ecoscore(document["ecoscore"], referential.ecoscore_method)
    except DomainError as error:
        failures += [{**detail, "criterion": "ETH-32"} for detail in error.details] or [
            {"pointer": "/ecoscore", "criterion": "ETH-32", "message": error.message}]
    if len(document["ecoscore"]["journey"]) < 3:
        failures.append({"pointer": "/ecoscore/journey", "criterion": "ETH-32",
                         "message": "the measured journey needs at least 3 steps"})
    return failures

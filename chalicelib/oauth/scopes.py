"""SMART App Launch scopes, v1 and v2 syntax: parsing, and whether a request lies within approval."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, Iterable, List, Optional, Tuple

from chalicelib.errors import DomainError

# Scopes without a resource: what they mean is in catalog/scopes.json ("other_scopes").
CONTEXT_SCOPES = frozenset({"launch/patient", "openid", "fhirUser", "offline_access", "online_access"})
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_ORDER = "cruds"
_DATA_SCOPE = re.compile(r"^(?P<context>patient|user|system)/(?P<resource>\*|[A-Z][A-Za-z]{1,63})\."
                         r"(?P<permissions>read|write|\*|c?r?u?d?s?)(?:\?(?P<query>[A-Za-z0-9_.:|,=&%-]{1,200}))?$")


class InvalidScope(DomainError):
    status, code, oauth_error = 400, "invalid_scope", "invalid_scope"


@dataclass(frozen=True)
class DataScope:
    """A resource scope in v2 terms: `patient/Observation.rs?category=vital-signs`."""

    resource: str  # a FHIR resource type, or "*"
    permissions: str  # a subset of "cruds", in that order
    query: Optional[str] = None  # a granular restriction, e.g. "category=vital-signs"
    text: str = ""  # as the client wrote it

    @property
    def v2(self) -> str:
        return f"patient/{self.resource}.{self.permissions}" + (f"?{self.query}" if self.query else "")


def parse_data_scope(text: str) -> DataScope:
    match = _DATA_SCOPE.match(text)
    if not match or not match.group("permissions"):
        raise InvalidScope(f"Malformed scope '{text[:120]}'.")
    if match.group("context") != "patient":
        raise InvalidScope(f"Only patient-level scopes are offered (patient/...), not '{text[:120]}'.")
    permissions = V1_PERMISSIONS.get(match.group("permissions"), match.group("permissions"))
    return DataScope(match.group("resource"), permissions, match.group("query"), text)


@dataclass(frozen=True)
class ScopeRequest:
    data: Tuple[DataScope, ...]
    context: FrozenSet[str]

    @classmethod
    def parse(cls, scope: Optional[str]) -> "ScopeRequest":
        words = (scope or "").split()
        if not words:
            raise InvalidScope("No scope was requested.")
        if len(words) > 50 or len(scope or "") > 4000:
            raise InvalidScope("Too many scopes.")
        data, context = [], set()
        for word in dict.fromkeys(words):
            if word in CONTEXT_SCOPES:
                context.add(word)
            elif "/" in word:
                data.append(parse_data_scope(word))
            else:
                raise InvalidScope(f"Unknown scope '{word[:120]}'.")
        return cls(tuple(data), frozenset(context))

    def granted_within(self, approved: Iterable[str]) -> List[str]:
        """The data scopes as granted, in v2 syntax, if all lie within the approved ones; a wildcard
        resource stands for each approved resource. Anything outside approval is invalid_scope."""
        allowed = {}
        for text in approved:
            if "/" in text:
                scope = parse_data_scope(text)
                allowed[scope.resource] = "".join(p for p in _ORDER
                                                  if p in allowed.get(scope.resource, "") + scope.permissions)
        granted: List[str] = []
        for scope in self.data:
            resources = sorted(allowed) if scope.resource == "*" else [scope.resource]
            for resource in resources:
                permitted = allowed.get(resource, "")
                if scope.resource == "*":
                    permissions = "".join(p for p in scope.permissions if p in permitted)
                    if not permissions:
                        continue
                elif not set(scope.permissions) <= set(permitted):
                    raise InvalidScope(f"'{scope.text}' is beyond what this app was approved for.")
                else:
                    permissions = scope.permissions
                granted.append(DataScope(resource, permissions, scope.query).v2)
        if self.data and not granted:
            raise InvalidScope("None of the requested scopes was approved for this app.")
        return list(dict.fromkeys(granted))

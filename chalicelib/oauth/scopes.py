"""SMART App Launch scopes, v1 and v2 syntax: parsing, granular category restrictions, and whether
a request lies within approval (at authorization) or within what was granted (at refresh)."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from chalicelib.config import settings
from chalicelib.errors import DomainError
from chalicelib.terminology import load_terminology

# Scopes without a resource: what they mean is in catalog/scopes.json ("other_scopes").
CONTEXT_SCOPES = frozenset({"launch/patient", "openid", "fhirUser", "offline_access", "online_access"})
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_ORDER = "cruds"
# The query of a granular scope is taken as written: the endpoints decode query and form parameters
# once, so a '%' still in a scope was encoded twice, and is not decoded again here.
_DATA_SCOPE = re.compile(r"^(?P<context>patient|user|system)/(?P<resource>\*|[A-Z][A-Za-z]{1,63})\."
                         r"(?P<permissions>read|write|\*|c?r?u?d?s?)(?:\?(?P<query>[A-Za-z0-9_.:/|,=&-]{1,400}))?$")

Category = Tuple[Optional[str], str]  # (code system as written, or None; code)


class InvalidScope(DomainError):
    status, code, oauth_error = 400, "invalid_scope", "invalid_scope"


def _categories() -> Dict[str, Tuple[str, FrozenSet[str]]]:
    """Per resource type, the category code system and codes of the terminology (catalog/fhir)."""
    return load_terminology(settings.catalog_dir).categories


def _misfit(resource: str, restriction: Tuple[Category, ...]) -> Optional[str]:
    """Why a category restriction does not fit a resource type, or None when it does."""
    known = _categories().get(resource)
    if known is None:
        return f"{resource} has no categories to restrict to"
    system, codes = known
    for given_system, code in restriction:
        if given_system is not None and given_system != system:
            return f"{resource} categories are in the code system {system}, not {given_system[:120]}"
        if code not in codes:
            return f"'{code[:60]}' is not a category of {resource} here (known: {', '.join(sorted(codes))})"
    return None


@dataclass(frozen=True)
class DataScope:
    """A resource scope in v2 terms: `patient/Observation.rs?category=vital-signs`."""

    resource: str  # a FHIR resource type, or "*"
    permissions: str  # a subset of "cruds", in that order
    query: Optional[str] = None  # a granular restriction as the client wrote it, e.g. "category=vital-signs"
    text: str = ""  # as the client wrote it
    restriction: Optional[Tuple[Category, ...]] = None  # the query's categories, when there is one

    @property
    def v2(self) -> str:
        """As granted: v2 permission letters, the restriction echoed as the client wrote it."""
        return f"patient/{self.resource}.{self.permissions}" + (f"?{self.query}" if self.query else "")

    @property
    def categories(self) -> Optional[FrozenSet[str]]:
        """The category codes this scope is restricted to (`<system>|<code>` and `<code>` alike:
        the system, checked to be ours, is set aside); None for every category."""
        return None if self.restriction is None else frozenset(code for _, code in self.restriction)

    def fits(self, resource: str) -> bool:
        return self.restriction is None or _misfit(resource, self.restriction) is None


def _restriction(text: str, query: str) -> Tuple[Category, ...]:
    name, _, value = query.partition("=")
    if name != "category" or not value or "=" in value or "&" in value:
        raise InvalidScope(f"'{text[:200]}': the only restriction offered is one 'category=' "
                           "(a code, or <system>|<code>; several separated by commas).")
    restriction = []
    for token in value.split(","):
        system, bar, code = token.rpartition("|")
        if not code or (bar and not system):
            raise InvalidScope(f"'{text[:200]}': a category is a code, or <system>|<code>.")
        restriction.append((system or None, code))
    return tuple(restriction)


def parse_data_scope(text: str) -> DataScope:
    match = _DATA_SCOPE.match(text)
    if not match or not match.group("permissions"):
        hint = " (it looks percent-encoded twice: send it decoded once)" if "%" in text else ""
        raise InvalidScope(f"Malformed scope '{text[:120]}'{hint}.")
    if match.group("context") != "patient":
        raise InvalidScope(f"Only patient-level scopes are offered (patient/...), not '{text[:120]}'.")
    resource, query = match.group("resource"), match.group("query")
    permissions = V1_PERMISSIONS.get(match.group("permissions"), match.group("permissions"))
    restriction = _restriction(text, query) if query else None
    if restriction is not None:
        if resource == "*":
            if not any(_misfit(name, restriction) is None for name in _categories()):
                raise InvalidScope(f"'{text[:200]}': no resource type has these categories "
                                   f"({', '.join(sorted(_categories()))} have categories).")
        else:
            problem = _misfit(resource, restriction)
            if problem:
                raise InvalidScope(f"'{text[:200]}': {problem}.")
    return DataScope(resource, permissions, query, text, restriction)


def categories_allowed(scopes: Iterable[DataScope], resource: str, letter: str) -> Optional[FrozenSet[str]]:
    """What scopes allow for one permission letter on one resource type: None for every category,
    otherwise the categories allowed (an empty set: nothing)."""
    categories: set = set()
    for scope in scopes:
        if scope.resource in (resource, "*") and letter in scope.permissions:
            if scope.categories is None:
                return None
            categories |= scope.categories
    return frozenset(categories)


def _covered(allowed: Sequence[DataScope], resource: str, letter: str, categories: Optional[FrozenSet[str]]) -> bool:
    given = categories_allowed(allowed, resource, letter)
    return given is None or (categories is not None and categories <= given)


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
        """At authorization: the data scopes as granted, in v2 syntax, if all lie within the approved
        ones; a wildcard resource stands for each approved resource. Anything outside approval is
        invalid_scope."""
        return self._within([parse_data_scope(text) for text in approved if "/" in text],
                            "what this app was approved for")

    def narrowed_from(self, granted: str) -> str:
        """At refresh (RFC 6749 §6): the scope to issue, if this request asks for nothing beyond the
        scope `granted`: each data scope covered by the granted ones (the same resource or a
        wildcard, its permission letters among theirs, a category only within an unrestricted grant
        or the same categories), the context scopes a subset. Anything wider is invalid_scope."""
        before = ScopeRequest.parse(granted)
        extra = sorted(self.context - before.context)
        if extra:
            raise InvalidScope(f"'{extra[0]}' was not granted: a refresh may only narrow the scope.")
        data = self._within(before.data, "what was granted (a refresh may only narrow the scope)")
        return " ".join([*data, *sorted(self.context)])

    def _within(self, allowed: Sequence[DataScope], what: str) -> List[str]:
        """Letter by letter and category by category, what `allowed` covers of this request."""
        resources = sorted({scope.resource for scope in allowed} - {"*"})
        granted: List[str] = []
        for scope in self.data:
            if scope.resource == "*":
                for resource in resources:
                    if not scope.fits(resource):
                        continue
                    letters = "".join(p for p in scope.permissions if _covered(allowed, resource, p, scope.categories))
                    if letters:
                        granted.append(replace(scope, resource=resource, permissions=letters).v2)
            elif all(_covered(allowed, scope.resource, p, scope.categories) for p in scope.permissions):
                granted.append(scope.v2)
            else:
                raise InvalidScope(f"'{scope.text[:200]}' is beyond {what}.")
        if self.data and not granted:
            raise InvalidScope(f"None of the requested scopes lies within {what}.")
        return list(dict.fromkeys(granted))

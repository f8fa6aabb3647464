"""Catalogue queries: parsing filters, planning one DynamoDB Query per page, opaque cursors."""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from chalicelib.catalog.referential import Referential
from chalicelib import cursors
from chalicelib.errors import InvalidRequest

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
# A page whose filters the index cannot answer alone reads at most this many index entries, so
# that a page costs the same whatever the size of the catalogue; it may then hold fewer than
# `limit` apps while `next` still points further.
FILTERED_READ_BUDGET = 200
# Free text: every word of an app's name, publisher and category (then of its description, within
# the bound) makes its app appear under the facet of its first letters, `prefix#dia` for
# "Diabète": a search Queries the facet of its first word of three letters or more and filters the
# rest, so that its first page is found among the few apps with such a word, not in a budget of
# the whole catalogue. The bound keeps an app's entries, written again at each publication with
# the stale ones deleted, within DynamoDB's 100 items per transaction.
PREFIX_LENGTH, MAX_PREFIX_FACETS = 3, 30
SORTS = ("name", "ecoscore")
PARAMETERS = ("category", "min_ecoscore", "data", "q", "sort", "limit", "cursor")
_MAX_TERMS, _MAX_Q = 5, 100


def normalize_text(text: str) -> str:
    """Lower case, accents removed, punctuation as spaces: 'Diabète' and 'diabete' match."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare).split())


def word_prefixes(*texts: str) -> List[str]:
    """The word-start facets of an app's searchable texts, the first texts first."""
    words = normalize_text(" ".join(texts)).split()
    prefixes = dict.fromkeys(word[:PREFIX_LENGTH] for word in words if len(word) >= PREFIX_LENGTH)
    return [f"prefix#{prefix}" for prefix in prefixes][:MAX_PREFIX_FACETS]


@dataclass(frozen=True)
class CatalogQuery:
    category: Optional[str] = None
    min_ecoscore: Optional[str] = None
    data: Optional[str] = None
    terms: Tuple[str, ...] = ()
    sort: str = "name"
    limit: int = DEFAULT_LIMIT
    cursor: Optional[str] = None

    @classmethod
    def parse(cls, params: Mapping[str, str], referential: Referential) -> "CatalogQuery":
        """Validate every parameter and report every problem at once."""
        problems: List[Dict[str, str]] = []

        def choice(name: str, allowed: List[str]) -> Optional[str]:
            value = params.get(name)
            if value is None or value in allowed:
                return value
            problems.append({"parameter": name, "message": f"'{value}' is not one of: {', '.join(allowed)}"})
            return None

        category = choice("category", list(referential.categories))
        min_ecoscore = choice("min_ecoscore", referential.letters)
        data = choice("data", list(referential.data_kinds))
        sort = choice("sort", list(SORTS)) or "name"
        limit = DEFAULT_LIMIT
        if "limit" in params:
            raw = params["limit"]
            if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
                problems.append({"parameter": "limit", "message": f"must be an integer from 1 to {MAX_LIMIT}"})
            else:
                limit = int(raw)
        q = params.get("q", "")
        if len(q) > _MAX_Q:
            problems.append({"parameter": "q", "message": f"at most {_MAX_Q} characters"})
        terms = tuple(dict.fromkeys(t for t in normalize_text(q).split() if len(t) >= 2))
        if len(terms) > _MAX_TERMS:
            problems.append({"parameter": "q", "message": f"at most {_MAX_TERMS} words"})
        if problems:
            raise InvalidRequest("Invalid catalogue query.", problems)
        return cls(category, min_ecoscore, data, terms, sort, limit, params.get("cursor"))


@dataclass(frozen=True)
class QueryPlan:
    """One Query on one index partition, plus the filters the index cannot answer."""

    index: str  # 'by_name' | 'by_ecoscore'
    facet: str
    eco_key_below: Optional[str]
    residual: Dict[str, Any]

    def page_size(self, limit: int) -> int:
        """Entries to read: one more than the page to know if another follows, or the budget."""
        return max(limit + 1, FILTERED_READ_BUDGET) if self.residual else limit + 1

    def fingerprint(self) -> str:
        payload = json.dumps([self.index, self.facet, self.eco_key_below, self.residual], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def eco_key(score: float, name_key: str) -> str:
    """Sort key that orders the best score first, then by name."""
    return f"{1000 - round(score * 10):04d}#{name_key}"


def plan(query: CatalogQuery, referential: Referential) -> QueryPlan:
    eco_key_below = None
    min_score = referential.min_score_of(query.min_ecoscore) if query.min_ecoscore else None
    if query.sort == "ecoscore" and min_score is not None:
        # Best scores come first in this index: a minimum letter is a range on the sort key.
        eco_key_below = f"{1000 - round(min_score * 10):04d}$"
        min_score = None
    # Index partitions that could answer each filter, most selective first; the first present
    # becomes the partition to query, the others become filters on what it returns.
    options: List[Tuple[str, str, Any]] = []
    if query.category:
        options.append((f"category#{query.category}", "category", query.category))
    if query.data:
        options.append((f"data#{query.data}", "data", query.data))
    if min_score is not None and query.min_ecoscore != referential.letters[-1]:
        options.append((f"min#{query.min_ecoscore}", "min_score", min_score))
    searched = [term for term in query.terms if len(term) >= PREFIX_LENGTH]
    if searched:  # a word start is the most selective partition (see PREFIX_LENGTH)
        options.insert(0, (f"prefix#{searched[0][:PREFIX_LENGTH]}", "", None))
    facet = options[0][0] if options else "all"
    residual: Dict[str, Any] = {name: value for _, name, value in options[1:]}
    if query.terms:
        residual["terms"] = list(query.terms)
    index = "by_name" if query.sort == "name" else "by_ecoscore"
    return QueryPlan(index, facet, eco_key_below, residual)


def encode_cursor(key: Dict[str, str], fingerprint: str) -> str:
    return cursors.encode({"k": key, "q": fingerprint})


def decode_cursor(cursor: str, fingerprint: str, key_names: Tuple[str, ...],
                  fits: Callable[[Dict[str, str]], bool] = lambda key: True) -> Dict[str, str]:
    """The start key a cursor carries; a cursor from another query or a forged one is a 400.
    `fits` says whether the key lies within the query (its partition, its key range): a start
    key outside would make DynamoDB refuse the query."""
    invalid = InvalidRequest("Invalid cursor: use the 'next' link of the previous page, unchanged.",
                             [{"parameter": "cursor", "message": "not a cursor of this query"}])
    try:
        decoded = cursors.decode(cursor)
    except cursors.InvalidCursor:
        raise invalid from None
    if decoded.get("q") != fingerprint:
        raise invalid
    key = decoded.get("k")
    if (not isinstance(key, dict) or set(key) != set(key_names)
            or not all(isinstance(v, str) and 0 < len(v) <= 1024 for v in key.values())
            or not fits(key)):
        raise invalid
    return key

"""The référentiel as loaded from catalog/: categories, scopes, purposes, criteria, écoscore method."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

from chalicelib.config import settings

TRACK_SIMPLE = "simple"
TRACK_DATA_EXCHANGE = "data_exchange"


@dataclass(frozen=True)
class Referential:
    """Read-only view of the data files; loaded once per process, on first use."""

    directory: Path

    def _load(self, name: str) -> Dict[str, Any]:
        with open(self.directory / name, encoding="utf-8") as handle:
            return json.load(handle)

    @cached_property
    def categories(self) -> Dict[str, Dict[str, Any]]:
        return {c["id"]: c for c in self._load("categories.json")["categories"]}

    @cached_property
    def _scopes(self) -> Dict[str, Any]:
        return self._load("scopes.json")

    @cached_property
    def purposes(self) -> Dict[str, Dict[str, Any]]:
        return {p["id"]: p for p in self._scopes["purposes"]}

    @cached_property
    def data_kinds(self) -> Dict[str, Dict[str, Any]]:
        return {k["id"]: k for k in self._scopes["data_kinds"]}

    @cached_property
    def data_scopes(self) -> Dict[str, Dict[str, Any]]:
        return {s["scope"]: s for s in self._scopes["data_scopes"]}

    @cached_property
    def other_scopes(self) -> Dict[str, Dict[str, Any]]:
        return {s["scope"]: s for s in self._scopes["other_scopes"]}

    @cached_property
    def criteria_document(self) -> Dict[str, Any]:
        return self._load("criteria.json")

    @cached_property
    def families(self) -> Dict[str, Dict[str, Any]]:
        return {f["id"]: f for f in self.criteria_document["families"]}

    @cached_property
    def criteria(self) -> Dict[str, Dict[str, Any]]:
        return {c["id"]: c for c in self.criteria_document["criteria"]}

    @cached_property
    def ecoscore_method(self) -> Dict[str, Any]:
        return self._load("ecoscore.json")

    @cached_property
    def listing_schema(self) -> Dict[str, Any]:
        return self._load("listing.schema.json")

    @cached_property
    def letters(self) -> List[str]:
        return [band["letter"] for band in self.ecoscore_method["letters"]]

    def min_score_of(self, letter: str) -> float:
        return next(b["min_score"] for b in self.ecoscore_method["letters"] if b["letter"] == letter)

    def data_kind_of(self, scope: str) -> Optional[str]:
        entry = self.data_scopes.get(scope)
        return entry["data_kind"] if entry else None

    def criteria_for(self, track: str) -> List[Dict[str, Any]]:
        return [c for c in self.criteria.values() if track in c["tracks"]]


@lru_cache(maxsize=None)
def load_referential(directory: Optional[Path] = None) -> Referential:
    return Referential(directory or settings.catalog_dir)

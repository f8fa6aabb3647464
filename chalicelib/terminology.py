"""The FHIR terminology of the platform's data (catalog/fhir/terminology.json): the code systems,
document types and categories, and measures that the record stores, that granular scopes name and
that the pages put into words."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Tuple


@dataclass(frozen=True)
class Terminology:
    directory: Path

    @cached_property
    def _data(self) -> Dict[str, Any]:
        return json.loads((self.directory / "fhir" / "terminology.json").read_text(encoding="utf-8"))

    @cached_property
    def systems(self) -> Dict[str, str]:
        return self._data["systems"]

    @cached_property
    def document_types(self) -> Dict[str, Dict[str, Any]]:
        return {t["code"]: t for t in self._data["document_types"]}

    @cached_property
    def document_categories(self) -> Dict[str, Dict[str, Any]]:
        return {c["code"]: c for c in self._data["document_categories"]}

    @cached_property
    def measures(self) -> Dict[str, Dict[str, Any]]:
        return {m["code"]: m for m in self._data["measures"]}

    @cached_property
    def categories(self) -> Dict[str, Tuple[str, FrozenSet[str]]]:
        """The categories each resource type is filed under, as (code system, codes): what a
        granular scope (`patient/Observation.rs?category=...`) may name."""
        return {"Observation": (self.systems["observation_category"],
                                frozenset(m["category"] for m in self._data["measures"])),
                "DocumentReference": (self.systems["document_category"], frozenset(self.document_categories))}


@lru_cache(maxsize=4)
def load_terminology(directory: Path) -> Terminology:
    return Terminology(Path(directory))

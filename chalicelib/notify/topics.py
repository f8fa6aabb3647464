"""The subscription topics (catalog/fhir/subscription-topics.json), and how FHIR R4 shows them: as
`Basic` resources carrying the R5 SubscriptionTopic's elements in cross-version extensions, as
the Subscriptions R5 Backport guide does for R4."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

_R5 = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic."
_R4B = "http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic."


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    url: str  # the canonical a Subscription's `criteria` names
    title: Dict[str, str]
    description: Dict[str, str]
    resource: str
    interactions: Tuple[str, ...]
    needs: Optional[str]  # the SMART permission letter needed on `resource`; None: any token
    filters: Tuple[str, ...]

    def basic(self, version: str, date: str) -> Dict[str, Any]:
        """The topic as an R4 Basic resource (the backport guide's cross-version shape)."""
        trigger: List[Dict[str, Any]] = [
            {"url": "description", "valueMarkdown": self.description["en"]},
            {"url": "resource", "valueUri": f"http://hl7.org/fhir/StructureDefinition/{self.resource}"}]
        trigger += [{"url": "supportedInteraction", "valueCode": code} for code in self.interactions]
        extensions: List[Dict[str, Any]] = [
            {"url": f"{_R5}url", "valueUri": self.url},
            {"url": f"{_R5}version", "valueString": version},
            {"url": f"{_R5}name", "valueString": self.name},
            {"url": f"{_R5}title", "valueString": self.title["en"]},
            {"url": f"{_R5}date", "valueDateTime": date},
            {"url": f"{_R5}description", "valueMarkdown": f"{self.description['fr']}\n\n{self.description['en']}"},
            {"url": f"{_R4B}resourceTrigger", "extension": trigger}]
        extensions += [{"url": f"{_R4B}canFilterBy", "extension": [
            {"url": "resource", "valueUri": self.resource}, {"url": "filterParameter", "valueString": name}]}
            for name in self.filters]
        return {"resourceType": "Basic", "id": self.id, "extension": extensions,
                "modifierExtension": [{"url": f"{_R5}status", "valueCode": "active"}],
                "code": {"coding": [{"system": "http://hl7.org/fhir/fhir-types", "code": "SubscriptionTopic"}]}}


@dataclass(frozen=True)
class Topics:
    version: str
    date: str
    all: Tuple[Topic, ...]

    def by_url(self, url: Any) -> Optional[Topic]:
        return next((topic for topic in self.all if topic.url == url), None)

    def by_id(self, topic_id: str) -> Optional[Topic]:
        return next((topic for topic in self.all if topic.id == topic_id), None)

    def for_resource(self, resource_type: str) -> List[Topic]:
        return [topic for topic in self.all if topic.resource == resource_type]


def load_topics(catalog_dir: Path) -> Topics:
    data = json.loads((Path(catalog_dir) / "fhir" / "subscription-topics.json").read_text(encoding="utf-8"))
    topics = tuple(Topic(t["id"], t["name"], data["canonical_base"] + t["id"], t["title"], t["description"],
                         t["resource"], tuple(t["interactions"]), t["needs"], tuple(t["filters"]))
                   for t in data["topics"])
    return Topics(data["version"], data["date"], topics)

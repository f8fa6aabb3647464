"""The citizen's own view of their record: their documents, and which ones apps may see."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from chalicelib.errors import InvalidRequest, NotFound
from chalicelib.records.resources import is_resource_id
from chalicelib.records.store import MissingRecord, RecordStore
from chalicelib.clock import Clock


class RecordService:
    """The citizen's rules over their documents; its storage is `store` (records/store.py)."""

    def __init__(self, clock: Clock, store: Optional[RecordStore] = None) -> None:
        self.clock = clock
        self.store = store or RecordStore()

    def documents(self, patient_id: str) -> Dict[str, List[Dict[str, Any]]]:
        """The citizen's documents, newest first, with whether apps can see each (one Query)."""
        documents = []
        for item in self.store.documents(patient_id):
            resource = item.resource
            coding = (resource.get("type", {}).get("coding") or [{}])[0]
            documents.append({"id": item.item_key.partition("#")[2], "date": resource.get("date"),
                              "type": coding.get("code"), "type_label": coding.get("display"),
                              "description": resource.get("description"),
                              "author": [a.get("display") for a in resource.get("author", [])],
                              "hidden": bool(item.hidden),
                              "hidden_from_representatives": bool(item.hidden_from_representatives),
                              "source_app": item.source_app})
        return {"documents": documents}

    def set_visibility(self, patient_id: str, document_id: str, body: Any) -> Dict[str, Any]:
        """Hide a document from every app (`hidden`), or from one's legal representatives and the
        apps they authorised (`hidden_from_representatives`: a minor's medical secrecy), or show it
        again: effective at the apps' next call."""
        flags = {"hidden", "hidden_from_representatives"}
        if not isinstance(body, dict) or not body or not set(body) <= flags or \
                not all(isinstance(value, bool) for value in body.values()):
            raise InvalidRequest('The body must set "hidden" or "hidden_from_representatives" (or both) to true '
                                 'or false, and nothing else.',
                                 [{"pointer": f"/{name}", "message": "a boolean"} for name in sorted(flags)])
        if not is_resource_id(document_id):
            raise NotFound(f"No document '{document_id[:64]}'.")
        try:
            self.store.set_document_flags(patient_id, document_id, body)
        except MissingRecord:
            raise NotFound(f"No document '{document_id}'.") from None
        return {"id": document_id, **body}

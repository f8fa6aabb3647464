"""The citizen's own view of their record: their documents, and which ones apps may see."""
from __future__ import annotations

from typing import Any, Dict, List

from pynamodb.exceptions import UpdateError

from chalicelib.errors import InvalidRequest, NotFound
from chalicelib.records.resources import is_resource_id
from chalicelib.records.models import RecordItem
from chalicelib.clock import Clock


class RecordService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def documents(self, patient_id: str) -> Dict[str, List[Dict[str, Any]]]:
        """The citizen's documents, newest first, with whether apps can see each (one Query)."""
        documents = []
        for item in RecordItem.by_date.query(patient_id, RecordItem.date_key.startswith("DocumentReference#"),
                                             scan_index_forward=False):
            resource = item.resource
            coding = (resource.get("type", {}).get("coding") or [{}])[0]
            documents.append({"id": item.item_key.partition("#")[2], "date": resource.get("date"),
                              "type": coding.get("code"), "type_label": coding.get("display"),
                              "description": resource.get("description"),
                              "author": [a.get("display") for a in resource.get("author", [])],
                              "hidden": bool(item.hidden), "source_app": item.source_app})
        return {"documents": documents}

    def set_visibility(self, patient_id: str, document_id: str, body: Any) -> Dict[str, Any]:
        """Hide a document from every app, or show it again: effective at the apps' next call."""
        if not isinstance(body, dict) or set(body) != {"hidden"} or not isinstance(body["hidden"], bool):
            raise InvalidRequest('The body must be {"hidden": true} or {"hidden": false}.',
                                 [{"pointer": "/hidden", "message": "a boolean, and nothing else"}])
        if not is_resource_id(document_id):
            raise NotFound(f"No document '{document_id[:64]}'.")
        item = RecordItem(patient_id, f"DocumentReference#{document_id}")
        try:
            item.update(actions=[RecordItem.hidden.set(body["hidden"])], condition=RecordItem.item_key.exists())
        except UpdateError:
            raise NotFound(f"No document '{document_id}'.") from None
        return {"id": document_id, "hidden": body["hidden"]}

"""What changed between two listing documents, field by field (JSON pointers), for the
publisher's version history and the commission's view of a new version against the approved one."""
from __future__ import annotations

from typing import Any, Dict, List


def _leaves(value: Any, pointer: str = "") -> Dict[str, Any]:
    """Every scalar of a document by its JSON pointer (an empty object or list counts as one)."""
    if isinstance(value, dict) and value:
        found: Dict[str, Any] = {}
        for key, child in value.items():
            found.update(_leaves(child, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"))
        return found
    if isinstance(value, list) and value:
        found = {}
        for index, child in enumerate(value):
            found.update(_leaves(child, f"{pointer}/{index}"))
        return found
    return {pointer or "/": value}


def field_changes(before: Any, after: Any) -> List[Dict[str, Any]]:
    """Each field added, removed or changed, in pointer order: {pointer, change, before, after}."""
    old, new = _leaves(before or {}), _leaves(after or {})
    changes = []
    for pointer in sorted(set(old) | set(new)):
        if pointer not in old:
            changes.append({"pointer": pointer, "change": "added", "before": None, "after": new[pointer]})
        elif pointer not in new:
            changes.append({"pointer": pointer, "change": "removed", "before": old[pointer], "after": None})
        elif old[pointer] != new[pointer]:
            changes.append({"pointer": pointer, "change": "changed", "before": old[pointer], "after": new[pointer]})
    return changes

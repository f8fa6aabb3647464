"""What every table model shares: where DynamoDB is, and on-demand capacity."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Type, TypeVar

from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.models import Model

from chalicelib.config import settings


class TableMeta:
    """Base of each model's Meta: subclasses name the table."""

    region = settings.region
    host = settings.dynamodb_endpoint
    billing_mode = PAY_PER_REQUEST_BILLING_MODE


M = TypeVar("M", bound=Model)
Key = Dict[str, Dict[str, str]]


def one_page(model: Type[M], results: Any, limit: int, key_attributes: Sequence[str]
             ) -> Tuple[List[M], Optional[Key], Dict[str, Any]]:
    """Exactly one Query call: `results` was asked for `limit + 1` items, so that the extra one
    tells whether a next page exists. Returns the items (at most `limit`), the key to resume
    after them (None at the end), and DynamoDB's raw page (ScannedCount, capacity)."""
    page = next(results.page_iter)
    items = [model.from_raw_data(raw) for raw in page.get("Items", [])]
    next_key = page.get("LastEvaluatedKey")
    if len(items) > limit:
        items = items[:limit]
        next_key = {name: {"S": getattr(items[-1], name)} for name in key_attributes}
    return items, next_key, page

"""What every table model shares: where DynamoDB is, and on-demand capacity."""
from __future__ import annotations

from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE

from chalicelib.config import settings


class TableMeta:
    """Base of each model's Meta: subclasses name the table."""

    region = settings.region
    host = settings.dynamodb_endpoint
    billing_mode = PAY_PER_REQUEST_BILLING_MODE

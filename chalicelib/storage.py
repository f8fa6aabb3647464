"""The DynamoDB tables of every domain, and their creation where no template created them."""
from __future__ import annotations

from typing import Iterable, Tuple, Type

from pynamodb.models import Model

from chalicelib.catalog.models import ALL_MODELS as CATALOG_MODELS
from chalicelib.consent.models import ALL_MODELS as CONSENT_MODELS
from chalicelib.grants import GrantItem
from chalicelib.notify.models import ALL_MODELS as NOTIFY_MODELS
from chalicelib.records.models import ALL_MODELS as RECORD_MODELS

MODELS: Tuple[Type[Model], ...] = (*CATALOG_MODELS, *CONSENT_MODELS, GrantItem, *RECORD_MODELS, *NOTIFY_MODELS)


def ensure_tables(models: Iterable[Type[Model]] = MODELS) -> None:
    """Create missing tables (local runs and tests; on AWS the CloudFormation template does it)."""
    for model in models:
        if not model.exists():
            model.create_table(wait=True)

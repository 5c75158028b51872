"""Base class for tasks that must run inside a municipality's schema."""

from __future__ import annotations

from typing import Any

from django.db import connection
from tenant_schemas_celery.task import TenantTask as _TenantTask


class TenantOnlyError(RuntimeError):
    """A tenant task was started in the public schema: it would read or write the wrong data."""


class TenantTask(_TenantTask):
    """A task that refuses to run in the public schema.

    tenant-schemas-celery restores the sender's schema on the worker. A task sent outside any
    tenant would silently run in ``public``; that is always a bug, so it fails loudly instead.
    """

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if connection.schema_name == "public":
            raise TenantOnlyError(f"task {self.name} must be sent from within a municipality's schema")
        return super().__call__(*args, **kwargs)

"""The template schema every new municipality is cloned from (fast provisioning).

``tenant_template`` is a fully migrated, empty tenant schema. Cloning it is a single SQL call and
does not grow with the number of migrations, unlike running every migration per new municipality.
"""

from __future__ import annotations

import threading

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import schema_context, schema_exists

from audit.db import protect_current_schema

_checked = threading.Event()


def template_schema_name() -> str:
    return settings.TENANT_BASE_SCHEMA


def _pending_in_template() -> set[tuple[str, str]]:
    with schema_context(template_schema_name()):
        loader = MigrationLoader(connection, ignore_no_migrations=True)
        tenant_labels = {config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS}
        expected = {key for key in loader.graph.nodes if key[0] in tenant_labels}
        applied = set(loader.applied_migrations)
    return expected - applied


def template_ensure(*, force: bool = False, verbosity: int = 0) -> bool:
    """Create or migrate the template schema if it is missing or behind. Returns True if it changed."""
    name = template_schema_name()
    if _checked.is_set() and not force:
        return False
    changed = False
    if not schema_exists(name):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
        changed = True
    if changed or _pending_in_template():
        call_command("migrate_schemas", schema_name=name, interactive=False, verbosity=verbosity)
        changed = True
    with schema_context(name), connection.cursor() as cursor:
        protect_current_schema(cursor)
    connection.set_schema_to_public()
    _checked.set()
    return changed


def template_forget() -> None:
    """Make the next template_ensure() check again (after migrations were added at run time)."""
    _checked.clear()

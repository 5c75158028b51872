"""``migrate_schemas`` that keeps the template schema current and skips municipalities with nothing to do.

A full run (no ``--schema``) migrates ``public``, then the template schema new municipalities are
cloned from, then only those municipality schemas that lack a migration the template has. Finding
them is one SQL query per 200 schemas, so a no-op run over hundreds of municipalities costs
milliseconds per municipality instead of a migration executor (and post-migrate signals) per schema.
A run that stopped half way simply resumes: the finished schemas are no longer pending.
"""

from __future__ import annotations

from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_tenant_model, schema_exists

from madoguchi.dbroles import apply_grants, owner_connection
from tenants.template import template_ensure, template_schema_name

_CHUNK = 200


def schemas_with_pending_migrations(schemas: list[str]) -> list[str]:
    """Schemas missing at least one migration recorded in the template schema (or missing entirely)."""
    template = template_schema_name()
    pending: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        existing = {row[0] for row in cursor.fetchall()}
        present = [schema for schema in schemas if schema in existing]
        pending.extend(schema for schema in schemas if schema not in existing)
        for start in range(0, len(present), _CHUNK):
            chunk = present[start:start + _CHUNK]
            parts = [
                f"SELECT %s AS schema_name WHERE EXISTS (SELECT 1 FROM \"{template}\".django_migrations t "
                f"WHERE NOT EXISTS (SELECT 1 FROM \"{schema}\".django_migrations m "
                f"WHERE m.app = t.app AND m.name = t.name))"
                for schema in chunk
            ]
            cursor.execute(" UNION ALL ".join(parts), chunk)
            pending.extend(row[0] for row in cursor.fetchall())
    return pending


class Command(MigrateSchemasCommand):
    def handle(self, *args: object, **options: object) -> None:
        """Always as the owner role (DATABASE_OWNER_URL); the application role gets its grants afterwards."""
        with owner_connection():
            apply_grants(schemas=[], install=False)  # default privileges first: new tables are granted at once
            self._migrate(*args, **options)
            connection.set_schema_to_public()
            apply_grants()

    def _migrate(self, *args: object, **options: object) -> None:
        schema = options.get("schema_name")
        targeted = bool(schema or options.get("app_label") or options.get("migration_name") or options.get("fake"))
        if targeted or options.get("shared"):
            super().handle(*args, **options)
            if not options.get("shared") and (not schema or schema == template_schema_name()):
                template_ensure(force=True)
            return

        if not options.get("tenant"):
            super().handle(*args, **{**options, "shared": True, "tenant": False})
        if template_ensure(force=True) and int(options.get("verbosity", 1)) > 0:
            self.stdout.write(f"template schema {template_schema_name()} migrated")
        connection.set_schema_to_public()
        all_schemas = list(
            get_tenant_model().objects.exclude(schema_name="public").order_by("schema_name")
            .values_list("schema_name", flat=True)
        )
        pending = [s for s in schemas_with_pending_migrations(all_schemas) if schema_exists(s)]
        if int(options.get("verbosity", 1)) > 0:
            self.stdout.write(f"{len(pending)} of {len(all_schemas)} municipality schemas have pending migrations")
        if not pending:
            return
        # Let django-tenants' base class read the options, then run its executor on the pending schemas only.
        self.sync_tenant, self.sync_public = True, False
        self.schema_name = None
        self.executor = options.get("executor") or "standard"
        self.args, self.options = args, {**options, "tenant": True, "shared": False, "schema_name": None}
        executor = get_executor(codename=self.executor)(self.args, self.options)
        executor.run_migrations(tenants=pending)

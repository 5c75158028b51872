"""``migrate_schemas`` that also keeps the template schema (what new municipalities are cloned from) current."""

from __future__ import annotations

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from tenants.template import template_ensure, template_schema_name


class Command(MigrateSchemasCommand):
    def handle(self, *args: object, **options: object) -> None:
        super().handle(*args, **options)
        schema = options.get("schema_name")
        if options.get("shared") and not options.get("tenant"):
            return
        if schema and schema != template_schema_name():
            return
        if template_ensure(force=True, verbosity=0) and int(options.get("verbosity", 1)) > 0:
            self.stdout.write(f"template schema {template_schema_name()} migrated")

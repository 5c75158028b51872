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
from madoguchi.dbroles import grant_schema

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
        grant_schema(cursor, name)
    connection.set_schema_to_public()
    _checked.set()
    return changed


def template_forget() -> None:
    """Make the next template_ensure() check again (after migrations were added at run time)."""
    _checked.clear()


# ---------------------------------------------------------------------------------------------
# Cloning: the template's DDL (from pg_dump, cached per template state) replayed under a new name,
# then the template's rows (migrations, content types, permissions) copied with INSERT … SELECT.
# Falls back to django-tenants' PL/pgSQL clone_schema when pg_dump is unavailable or mismatched.
# ---------------------------------------------------------------------------------------------
_PLACEHOLDER = "__madoguchi_new_schema__"
_ddl_cache: dict[str, str] = {}
_ddl_lock = threading.Lock()


def _template_fingerprint(cursor: object) -> str:
    cursor.execute(
        f'SELECT count(*), coalesce(max(id), 0) FROM "{template_schema_name()}".django_migrations'
    )
    count, last = cursor.fetchone()
    return f"{count}:{last}"


def _dump_template_ddl() -> str:
    import os
    import re
    import shutil
    import subprocess

    db = connection.settings_dict  # the owner's connection while provisioning / migrating
    pg_dump = os.environ.get("MADOGUCHI_PG_DUMP") or shutil.which("pg_dump")  # the server's own (make run embedded)
    if pg_dump is None:
        raise RuntimeError("pg_dump not found")
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    args = [pg_dump, "--schema-only", "--no-owner", "--no-privileges", "-n", template_schema_name(),
            "-d", db["NAME"]]
    if db.get("HOST"):
        args += ["-h", db["HOST"]]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    if db.get("USER"):
        args += ["-U", db["USER"]]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {result.stderr.strip()[:500]}")
    kept = []
    for line in result.stdout.splitlines():
        if line.startswith(("--", "\\", "SET ", "SELECT pg_catalog.set_config")):
            continue
        kept.append(line)
    ddl = "\n".join(kept)
    name = re.escape(template_schema_name())
    ddl = re.sub(rf"\bCREATE SCHEMA {name};", f'CREATE SCHEMA "{_PLACEHOLDER}";', ddl)
    ddl = re.sub(rf'(?<![\w"]){name}\.', f'"{_PLACEHOLDER}".', ddl)
    if re.search(rf"(?<![\w\"]){name}(?![\w\"])", ddl):
        raise RuntimeError("template name left in DDL; refusing to clone by text replacement")
    return ddl


def template_clone(*, schema_name: str) -> str:
    """Create ``schema_name`` as a copy of the template schema. Returns the method used."""
    from django_tenants.clone import CloneSchema
    from django_tenants.postgresql_backend.base import _check_schema_name

    _check_schema_name(schema_name)
    template = template_schema_name()
    with connection.cursor() as cursor:
        fingerprint = _template_fingerprint(cursor)
        with _ddl_lock:
            ddl = _ddl_cache.get(fingerprint)
            if ddl is None:
                try:
                    ddl = _dump_template_ddl()
                except (RuntimeError, OSError):
                    ddl = ""
                _ddl_cache.clear()
                _ddl_cache[fingerprint] = ddl
        if not ddl:
            CloneSchema().clone_schema(template, schema_name, "DATA")
            grant_schema(cursor, schema_name)
            return "clone_schema"
        cursor.execute(ddl.replace(_PLACEHOLDER, schema_name))
        cursor.execute(
            "SELECT c.relname, (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attidentity <> ''"
            " LIMIT 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'r'",
            [template],
        )
        for table, identity in cursor.fetchall():
            cursor.execute(f'INSERT INTO "{schema_name}"."{table}" OVERRIDING SYSTEM VALUE '
                           f'SELECT * FROM "{template}"."{table}"')
            if identity and cursor.rowcount:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, %s), (SELECT max(\"{identity}\") "
                    f'FROM "{schema_name}"."{table}"))',
                    [f'"{schema_name}"."{table}"', identity],
                )
        # The dump carries no privileges: the application role's grants (and the append-only restriction
        # of the audit table) are applied to the new schema here, in the provisioning transaction.
        grant_schema(cursor, schema_name)
    return "ddl"

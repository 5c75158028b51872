"""Two PostgreSQL roles: the *owner* runs migrations and every other DDL, the *application* role serves.

- ``DATABASE_URL`` is the application role (web, Celery worker, beat). It is not a superuser, owns no
  table and may only SELECT/INSERT/UPDATE/DELETE; on the append-only tables (the audit chain, its signed
  checkpoints and the wrapped audit keys) only SELECT and INSERT. It cannot ALTER or DROP a table, disable
  a trigger or set ``session_replication_role``.
- ``DATABASE_OWNER_URL`` is the owner role: it owns the database, every schema and table, and is used only
  for ``migrate_schemas``, provisioning a municipality (``owner_connection()``) and installing the few
  SECURITY DEFINER functions (schema ``madoguchi_private``) through which the application does its narrow,
  validated DDL at run time (the linkage bulk swap). Without ``DATABASE_OWNER_URL`` the owner *is* the
  application role (a single-role legacy setup; ``check --deploy`` warns).

Grants are generic: ``ALTER DEFAULT PRIVILEGES`` for the owner gives the application role DML on every table,
schema and sequence the owner creates later (any app's new model, a new municipality's schema), and
``apply_grants()`` (after ``migrate_schemas`` and after each clone of the template) re-grants and then
*restricts* the tables registered with ``register_append_only()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, connections

PRIVATE_SCHEMA = "madoguchi_private"
# Tables the application role may only read and append to, in whichever schema they exist.
_append_only: set[str] = {"audit_auditevent"}
# SQL the owner installs after migrations (SECURITY DEFINER functions of the apps), as callables returning SQL.
_owner_sql: list[Callable[[], str]] = []
_lock = threading.Lock()


def register_append_only(table: str) -> None:
    """Declare a table append-only for the application role (SELECT + INSERT only), in every schema."""
    _append_only.add(table)


def append_only_tables() -> set[str]:
    return set(_append_only)


def register_owner_sql(sql: Callable[[], str]) -> None:
    """SQL (idempotent: CREATE OR REPLACE …) that the owner runs after every migrate_schemas, e.g. the
    SECURITY DEFINER functions an app needs. Functions go in schema ``madoguchi_private``."""
    _owner_sql.append(sql)


def _owner_settings() -> dict:
    return getattr(settings, "DATABASE_OWNER", None) or {}


def app_role() -> str:
    return settings.DATABASES["default"].get("USER") or ""


def owner_role() -> str:
    return _owner_settings().get("USER") or app_role()


def roles_separated() -> bool:
    return bool(owner_role()) and owner_role() != app_role()


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def owner_connection() -> Iterator[object]:
    """Within the block, ``django.db.connection`` (this thread's ``default``) is a fresh connection as the
    owner role to the same database; the application connection is untouched and restored afterwards.

    Its transactions are its own: do not wait in here for a lock the application connection holds.
    """
    current = connections["default"]
    owner = _owner_settings()
    if not roles_separated() or current.settings_dict.get("USER") == owner.get("USER"):
        yield current
        return
    settings_dict = {**current.settings_dict}
    for key in ("USER", "PASSWORD", "HOST", "PORT"):
        if owner.get(key):
            settings_dict[key] = owner[key]
    settings_dict["CONN_MAX_AGE"] = 0
    wrapper = current.__class__(settings_dict, "default")
    connections["default"] = wrapper  # thread-local: other threads keep their own connection
    try:
        yield wrapper
    finally:
        try:
            wrapper.close()
        finally:
            connections["default"] = current


def _schemas(cursor: object) -> list[str]:
    cursor.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' AND nspname <> 'information_schema' "
        "AND nspname <> %s AND (nspname = 'public' OR nspowner = (SELECT oid FROM pg_roles WHERE rolname = %s))",
        [PRIVATE_SCHEMA, owner_role()],
    )
    return [row[0] for row in cursor.fetchall()]


def apply_grants(*, schemas: list[str] | None = None, install: bool = True) -> None:
    """As the owner: (``install``) the apps' owner SQL, then, with two roles, default privileges, grants on
    ``schemas`` (all the owner's schemas when None) and the append-only restriction. Idempotent."""
    with _lock, connection.cursor() as cursor:
        if install:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {PRIVATE_SCHEMA}")
            cursor.execute(f"REVOKE ALL ON SCHEMA {PRIVATE_SCHEMA} FROM PUBLIC")
            for sql in _owner_sql:
                cursor.execute(sql())
            cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {PRIVATE_SCHEMA} FROM PUBLIC")
            cursor.execute(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {PRIVATE_SCHEMA} FROM PUBLIC")
        if not roles_separated():
            return
        app, owner = quote_ident(app_role()), quote_ident(owner_role())
        cursor.execute("SELECT current_database()")
        database = quote_ident(cursor.fetchone()[0])
        cursor.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {app}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} GRANT SELECT, INSERT, UPDATE, DELETE "
                       f"ON TABLES TO {app}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} GRANT USAGE, SELECT ON SEQUENCES TO {app}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} GRANT USAGE ON SCHEMAS TO {app}")
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [PRIVATE_SCHEMA])
        if cursor.fetchone():
            cursor.execute(f"GRANT USAGE ON SCHEMA {PRIVATE_SCHEMA} TO {app}")
            cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {PRIVATE_SCHEMA} FROM {app}")
            cursor.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {PRIVATE_SCHEMA} TO {app}")
        for schema in schemas if schemas is not None else _schemas(cursor):
            grant_schema(cursor, schema)


def grant_schema(cursor: object, schema: str) -> None:
    """Give the application role DML in ``schema`` and restrict its append-only tables (as the owner)."""
    if not roles_separated():
        return
    app, name = quote_ident(app_role()), quote_ident(schema)
    cursor.execute(f"GRANT USAGE ON SCHEMA {name} TO {app}")
    cursor.execute(f"REVOKE CREATE ON SCHEMA {name} FROM {app}, PUBLIC")
    cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {name} TO {app}")
    cursor.execute(f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {name} FROM {app}, PUBLIC")
    cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {name} TO {app}")
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s)",
                   [schema, sorted(_append_only)])
    for (table,) in cursor.fetchall():
        cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {name}.{quote_ident(table)} "
                       f"FROM {app}, PUBLIC")


# ---------------------------------------------------------------------------------------------
# Creating the roles (development, tests, compose; production: see docs/operations.md)
# ---------------------------------------------------------------------------------------------
def roles_sql(*, owner: str, owner_password: str, app: str, app_password: str) -> list[tuple[str, list]]:
    """Statements (with parameters) a superuser runs once per cluster to create both roles."""
    statements: list[tuple[str, list]] = []
    for role, password, extra in ((owner, owner_password, "CREATEDB"), (app, app_password, "")):
        statements.append((
            "DO $$ BEGIN "
            f"CREATE ROLE {quote_ident(role)} LOGIN {extra} NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$", []))
        statements.append((
            f"ALTER ROLE {quote_ident(role)} LOGIN {extra} NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS", []))
        if password:
            statements.append((f"ALTER ROLE {quote_ident(role)} PASSWORD %s", [password]))
    return statements


def create_roles(superuser_dsn: str, *, owner: str, owner_password: str, app: str, app_password: str,
                 database: str | None = None) -> None:
    """As a superuser: create (or fix the attributes of) both roles and, with ``database``, create it owned by
    the owner or hand an existing one over (schemas, tables, sequences, views and functions; not extensions)."""
    import psycopg
    from psycopg import sql as pgsql

    with psycopg.connect(superuser_dsn, autocommit=True, connect_timeout=5) as conn:
        # Several processes (test workers, containers) may start at once: one at a time changes the roles
        # ("tuple concurrently updated" otherwise); the lock ends with the connection.
        conn.execute("SELECT pg_advisory_lock(hashtext('madoguchi.dbroles.create_roles'))")
        for statement, params in roles_sql(owner=owner, owner_password=owner_password, app=app,
                                           app_password=app_password):
            try:
                if params:  # ALTER ROLE … PASSWORD takes no bind parameter: quote the literal client-side
                    statement = pgsql.SQL(statement.replace("%s", "{}")).format(pgsql.Literal(params[0]))
                conn.execute(statement)
            except psycopg.errors.UniqueViolation:  # two processes creating the role at once
                pass
        if not database:
            return
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            conn.execute(pgsql.SQL("CREATE DATABASE {} OWNER {}").format(pgsql.Identifier(database),
                                                                         pgsql.Identifier(owner)))
            return
        conn.execute(pgsql.SQL("ALTER DATABASE {} OWNER TO {}").format(pgsql.Identifier(database),
                                                                       pgsql.Identifier(owner)))
    from urllib.parse import urlparse

    with psycopg.connect(urlparse(superuser_dsn)._replace(path=f"/{database}").geturl(), autocommit=True) as conn:
        adopt_objects(conn, owner=owner)


def adopt_objects(conn: object, *, owner: str) -> int:
    """Give the owner role every object of the application's schemas that another role (e.g. the superuser
    of an older single-role setup) owns. Objects of extensions stay as they are. Returns how many moved."""
    from psycopg import sql as pgsql

    system = "n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema'"
    not_extension = "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"
    statements: list[object] = []
    for (schema,) in conn.execute(
            f"SELECT n.nspname FROM pg_namespace n WHERE {system} AND n.nspowner <> "
            "(SELECT oid FROM pg_roles WHERE rolname = %s) AND n.nspname <> 'public'", [owner]).fetchall():
        statements.append(pgsql.SQL("ALTER SCHEMA {} OWNER TO {}").format(pgsql.Identifier(schema),
                                                                          pgsql.Identifier(owner)))
    kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}
    for schema, name, kind in conn.execute(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE {system} AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND {not_extension.format(oid='c.oid')} "
            "AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = %s) "
            "AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid "
            "AND d.deptype IN ('a', 'i')))", [owner]).fetchall():
        statements.append(pgsql.SQL("ALTER {} {}.{} OWNER TO {}").format(
            pgsql.SQL(kinds[kind]), pgsql.Identifier(schema), pgsql.Identifier(name), pgsql.Identifier(owner)))
    for (signature,) in conn.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            f"WHERE {system} AND {not_extension.format(oid='p.oid')} "
            "AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = %s)", [owner]).fetchall():
        statements.append(pgsql.SQL("ALTER FUNCTION {} OWNER TO {}").format(pgsql.SQL(signature),
                                                                            pgsql.Identifier(owner)))
    for statement in statements:
        conn.execute(statement)
    return len(statements)


def ensure_roles(superuser_dsn: str, *, database: str | None = None) -> None:
    """``create_roles`` for the roles of the settings (DATABASE_URL, DATABASE_OWNER_URL)."""
    if not roles_separated():
        return
    owner, app = _owner_settings(), settings.DATABASES["default"]
    create_roles(superuser_dsn, owner=owner["USER"], owner_password=owner.get("PASSWORD", ""), app=app["USER"],
                 app_password=app.get("PASSWORD", ""), database=database)

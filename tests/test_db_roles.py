"""The application's database role (what web, worker, beat and this suite connect as) cannot rewrite history.

Every test here runs on the application connection, as the application role; nothing is mocked. The grant
checks enumerate every table of every schema, so a table another app adds later is covered without a change.
"""

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from audit.services import record
from madoguchi.dbroles import PRIVATE_SCHEMA, app_role, append_only_tables, owner_role
from tests.conftest import in_tenant

APPEND_ONLY = {"audit_auditevent", "tenants_auditcheckpoint", "tenants_auditchainkey"}
PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")


def _refused(sql: str, params: list | None = None) -> str:
    """Run ``sql`` on the application connection in a savepoint; return PostgreSQL's refusal."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


def test_the_suite_and_the_application_connect_as_an_unprivileged_role(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication "
                       "FROM pg_roles WHERE rolname = current_user")
        user, *powers = cursor.fetchone()
        assert user == settings.DATABASES["default"]["USER"] == app_role() != owner_role()
        assert powers == [False, False, False, False, False]
        cursor.execute("SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = %s)",
                       [user])
        assert cursor.fetchone()[0] == 0  # owns no table, index, sequence or view
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = %s)"
                       " OR has_schema_privilege(%s, oid, 'CREATE')", [user, user])
        assert cursor.fetchall() == []  # owns no schema and may create in none
        cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [user, owner_role()])
        assert cursor.fetchone()[0] is False


def test_append_only_tables_are_registered():
    assert APPEND_ONLY <= append_only_tables()


def test_grants_on_every_table_of_every_schema(tenant_a):
    """DML on every table (so a new app's tables work at once), but on the append-only tables SELECT and INSERT
    only, and nowhere TRUNCATE, TRIGGER or REFERENCES: in public, the template and a municipality."""
    schemas = ["public", settings.TENANT_BASE_SCHEMA, tenant_a.schema_name]
    with connection.cursor() as cursor:
        cursor.execute("SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)", [schemas])
        tables = cursor.fetchall()
        assert {t for _, t in tables} >= APPEND_ONLY | {"integration_resident", "accounts_user"}
        wrong = []
        for schema, table in tables:
            name = f'"{schema}"."{table}"'
            expected = {"SELECT", "INSERT"} if table in append_only_tables() else {"SELECT", "INSERT", "UPDATE",
                                                                                  "DELETE"}
            cursor.execute("SELECT " + ", ".join(["has_table_privilege(%s, %s, %s)"] * len(PRIVILEGES)),
                           [v for p in PRIVILEGES for v in (app_role(), name, p)])
            granted = {p for p, has in zip(PRIVILEGES, cursor.fetchone(), strict=True) if has}
            if granted != expected:
                wrong.append((schema, table, sorted(granted)))
        assert wrong == []


@pytest.mark.parametrize("statement", [
    "UPDATE audit_auditevent SET actor = 'mallory'",
    "DELETE FROM audit_auditevent",
    "TRUNCATE audit_auditevent",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_update_delete",
    "DROP TRIGGER audit_auditevent_no_update_delete ON audit_auditevent",
    "DROP TABLE audit_auditevent",
    "CREATE TRIGGER t BEFORE INSERT ON audit_auditevent FOR EACH ROW EXECUTE FUNCTION audit_reject_change()",
    "CREATE OR REPLACE FUNCTION audit_reject_change() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$"
    " LANGUAGE plpgsql",
    "UPDATE public.tenants_auditcheckpoint SET hash = 'x'",
    "DELETE FROM public.tenants_auditcheckpoint",
    "TRUNCATE public.tenants_auditcheckpoint",
    "DELETE FROM public.tenants_auditchainkey",
    "UPDATE public.tenants_auditchainkey SET since_seq = 99",
    "DELETE FROM public.audit_auditevent",
    "SET session_replication_role = replica",
    "ALTER ROLE CURRENT_USER SUPERUSER",
    "CREATE TABLE linkage_load_1_integration_resident (LIKE integration_resident)",
    "DROP INDEX integration_resident_pkey",
    f"SELECT * FROM {PRIVATE_SCHEMA}.index_stash",
])
def test_the_application_role_cannot(in_a, statement):
    record(action="view", target_type="person", target_id="42")
    message = _refused(statement)
    assert "permission denied" in message or "must be owner" in message or "must be superuser" in message, message


def test_an_audit_row_stays_as_written(in_a):
    event = record(action="view", target_type="person", target_id="42")
    _refused("UPDATE audit_auditevent SET actor = 'mallory' WHERE id = %s", [event.pk])
    _refused("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    with connection.cursor() as cursor:
        cursor.execute("SELECT actor, hash FROM audit_auditevent WHERE id = %s", [event.pk])
        assert cursor.fetchone() == (event.actor, event.hash)


@pytest.mark.parametrize("call", [
    "load_drop(%(a)s, 'audit_auditevent')",  # not a load table
    "load_drop(%(a)s, 'integration_resident')",
    "load_drop('public', 'linkage_load_1_x')",  # not a municipality's schema
    "load_create(%(a)s, 'audit_auditevent', 'linkage_load_1_audit', false)",  # not a mirror table
    "load_create(%(t)s, 'integration_resident', 'linkage_load_1_x', false)",  # the template is no municipality
    "load_swap(%(a)s, 'accounts_user', 'linkage_load_1_x', '[]')",
    "indexes_drop(%(a)s, 'audit_auditevent')",
    "indexes_drop('public', 'integration_resident')",
    "load_index(%(a)s, 'audit_auditevent_pkey', 'linkage_load_1_x', 'linkage_load_1_x_i0')",
])
def test_the_owner_functions_accept_only_mirror_and_load_tables(in_a, call):
    message = _refused(f"SELECT {PRIVATE_SCHEMA}.{call}",
                       {"a": in_a.schema_name, "t": settings.TENANT_BASE_SCHEMA})
    assert "not a" in message or "no index" in message, message


def test_the_owner_functions_build_and_drop_a_load_table_for_the_application(in_a):
    from integration import privileged

    privileged.call("load_create", in_a.schema_name, "integration_resident", "linkage_load_0_integration_resident",
                    True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s "
                       "AND relnamespace = %s::regnamespace", ["linkage_load_0_integration_resident", in_a.schema_name])
        assert cursor.fetchone()[0] == owner_role()  # the application role still owns nothing
        cursor.execute("INSERT INTO linkage_load_0_integration_resident (atena_no, line_no, op) "
                       "SELECT atena_no, 1, 'U' FROM integration_resident LIMIT 0")
    privileged.call("load_drop", in_a.schema_name, "linkage_load_0_integration_resident")


@pytest.mark.schema
def test_a_second_connection_as_the_application_role_cannot_tamper_either(fresh_municipality, django_db_blocker):
    """The same through a plain connection (as a process with stolen application credentials would)."""
    from tests.conftest import _test_database_url

    municipality = fresh_municipality()
    with django_db_blocker.unblock(), psycopg.connect(_test_database_url(), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{municipality.schema_name}", public')
        for statement in ("ALTER TABLE audit_auditevent DISABLE TRIGGER USER", "DELETE FROM audit_auditevent",
                          "SET session_replication_role = replica",
                          "DELETE FROM tenants_auditcheckpoint", "ALTER TABLE audit_auditevent OWNER TO CURRENT_USER"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0] > 0


def test_a_new_schema_gets_the_grants(tenant_b):
    """Each municipality's schema is a clone of the template (whose dump carries no privileges)."""
    with in_tenant(tenant_b), connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege(%s, 'audit_auditevent', 'INSERT'), "
                       "has_table_privilege(%s, 'audit_auditevent', 'UPDATE'), "
                       "has_table_privilege(%s, 'integration_resident', 'UPDATE')", [app_role()] * 3)
        assert cursor.fetchone() == (True, False, True)


def test_the_database_check_passes_for_the_application_role_and_the_deploy_checks_for_the_settings(db, settings):
    from madoguchi.checks import anchor_store_check, application_role_check, roles_check

    assert application_role_check(databases=["default"]) == []
    assert roles_check() == []
    settings.AUDIT_ANCHOR_URL = "s3://bucket/prefix"
    assert anchor_store_check() == []
    settings.AUDIT_ANCHOR_URL = "file:///tmp/anchors"
    assert [w.id for w in anchor_store_check()] == ["madoguchi.W002"]
    settings.DATABASE_OWNER = {**settings.DATABASES["default"]}
    settings.DATABASE_OWNER_URL_SET = True
    assert [w.id for w in roles_check()] == ["madoguchi.W001"]

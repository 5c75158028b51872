"""migrate_schemas skips municipalities with nothing to do and migrates those that lag behind."""

import pytest
from django.core.management import call_command
from django.db import connection

from madoguchi.dbroles import owner_connection
from tenants.management.commands.migrate_schemas import schemas_with_pending_migrations


def test_up_to_date_schemas_are_not_pending(tenant_a, tenant_b):
    assert schemas_with_pending_migrations([tenant_a.schema_name, tenant_b.schema_name]) == []
    assert schemas_with_pending_migrations(["m_does_not_exist"]) == ["m_does_not_exist"]


@pytest.mark.schema
def test_lagging_schema_is_found_and_migrated(fresh_municipality, django_db_blocker, capsys):
    municipality = fresh_municipality()
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        with owner_connection(), connection.cursor() as cursor:
            # Roll the schema back by one real migration: drop what it created and forget the record (DDL: owner).
            cursor.execute(f'DROP TABLE "{municipality.schema_name}".django_session')
            cursor.execute(f'DELETE FROM "{municipality.schema_name}".django_migrations WHERE app = \'sessions\'')
        assert schemas_with_pending_migrations([municipality.schema_name]) == [municipality.schema_name]
        call_command("migrate_schemas", verbosity=1)
        assert "1 of" in capsys.readouterr().out
        assert schemas_with_pending_migrations([municipality.schema_name]) == []
        with connection.cursor() as cursor:  # a table (re)created by a migration is granted to the application
            cursor.execute("SELECT has_table_privilege(current_user, %s, 'INSERT'), "
                           "has_table_privilege(current_user, %s, 'TRUNCATE')",
                           [f'"{municipality.schema_name}".django_session'] * 2)
            assert cursor.fetchone() == (True, False)

"""The DDL of the linkage bulk path, done for the application role by SECURITY DEFINER functions of the owner.

The application role owns no table, so it can neither create a load table in a municipality's schema, build
an index, drop the live mirror table nor rename the load table in its place. These functions do exactly
that and nothing else: every name is checked (a *mirror* table ``integration_…`` of a municipality's schema,
a *load* table ``linkage_load_…``), identifiers are quoted with ``format(%I)``, index definitions come
from the catalogue (``pg_get_indexdef``), never from the caller. They run inside the caller's transaction,
so the swap stays atomic with the import's apply transaction, and they never touch the audit tables.

Installed by the owner after every ``migrate_schemas`` (``madoguchi.dbroles.register_owner_sql``).
"""

from __future__ import annotations

from django.db import connection

P = "madoguchi_private"

SQL = f"""
CREATE TABLE IF NOT EXISTS {P}.index_stash (
    tx xid8 NOT NULL, schema_name text NOT NULL, table_name text NOT NULL, index_name text NOT NULL,
    definition text NOT NULL);

CREATE OR REPLACE FUNCTION {P}.check_mirror(p_schema text, p_table text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.tenants_municipality WHERE schema_name = p_schema) THEN
        RAISE EXCEPTION 'not a municipality schema: %', p_schema USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_table NOT LIKE 'integration\\_%' OR NOT EXISTS (
            SELECT 1 FROM pg_tables WHERE schemaname = p_schema AND tablename = p_table) THEN
        RAISE EXCEPTION 'not a mirror table: %.%', p_schema, p_table USING ERRCODE = 'insufficient_privilege';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION {P}.check_load(p_schema text, p_load text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.tenants_municipality WHERE schema_name = p_schema) THEN
        RAISE EXCEPTION 'not a municipality schema: %', p_schema USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_load NOT LIKE 'linkage\\_load\\_%' THEN
        RAISE EXCEPTION 'not a load table: %', p_load USING ERRCODE = 'insufficient_privilege';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION {P}.load_create(p_schema text, p_live text, p_load text, p_staging boolean)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM {P}.check_mirror(p_schema, p_live);
    PERFORM {P}.check_load(p_schema, p_load);
    EXECUTE format('DROP TABLE IF EXISTS %I.%I', p_schema, p_load);
    EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS '
                   'INCLUDING STORAGE INCLUDING COMPRESSION)', p_schema, p_load, p_schema, p_live);
    IF p_staging THEN
        EXECUTE format('ALTER TABLE %I.%I ADD COLUMN line_no integer, ADD COLUMN op text, '
                       'ALTER COLUMN updated_at SET DEFAULT now()', p_schema, p_load);
    ELSE
        EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN updated_at SET DEFAULT now()', p_schema, p_load);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION {P}.load_index(p_schema text, p_live_index text, p_load text, p_temp text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_def text; v_table text; v_unique boolean;
BEGIN
    SELECT pg_get_indexdef(i.indexrelid), t.relname, i.indisunique INTO v_def, v_table, v_unique
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = p_schema AND ic.relname = p_live_index;
    IF v_def IS NULL THEN
        RAISE EXCEPTION 'no index %.%', p_schema, p_live_index USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM {P}.check_mirror(p_schema, v_table);
    PERFORM {P}.check_load(p_schema, p_load);
    PERFORM {P}.check_load(p_schema, p_temp);
    EXECUTE format('CREATE %sINDEX %I ON %I.%I USING ', CASE WHEN v_unique THEN 'UNIQUE ' ELSE '' END,
                   p_temp, p_schema, p_load) || substring(v_def FROM position(' USING ' IN v_def) + 7);
END $$;

CREATE OR REPLACE FUNCTION {P}.load_analyze(p_schema text, p_load text, p_columns text[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM {P}.check_load(p_schema, p_load);
    IF coalesce(array_length(p_columns, 1), 0) = 0 THEN
        EXECUTE format('ANALYZE %I.%I', p_schema, p_load);
    ELSE
        EXECUTE format('ANALYZE %I.%I (%s)', p_schema, p_load,
                       (SELECT string_agg(quote_ident(c), ', ') FROM unnest(p_columns) c));
    END IF;
END $$;

CREATE OR REPLACE FUNCTION {P}.load_drop(p_schema text, p_load text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM {P}.check_load(p_schema, p_load);
    EXECUTE format('DROP TABLE IF EXISTS %I.%I', p_schema, p_load);
END $$;

-- Inside the caller's transaction: the live table goes, the load table (its indexes, constraints and identity
-- sequence) takes its names. p_indexes: [{{"name": live name, "temp": name on the load table, "constraint": p|u|""}}]
CREATE OR REPLACE FUNCTION {P}.load_swap(p_schema text, p_live text, p_load text, p_indexes jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_live_seq text; v_seq text; v_index jsonb; v_oid oid;
BEGIN
    PERFORM {P}.check_mirror(p_schema, p_live);
    PERFORM {P}.check_load(p_schema, p_load);
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = p_schema AND table_name = p_load
               AND column_name = 'line_no') THEN
        EXECUTE format('ALTER TABLE %I.%I DROP COLUMN line_no, DROP COLUMN op', p_schema, p_load);
    END IF;
    EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN updated_at DROP DEFAULT', p_schema, p_load);
    SELECT c.relname INTO v_live_seq FROM pg_class c
     WHERE c.oid = pg_get_serial_sequence(format('%I.%I', p_schema, p_live), 'id')::regclass;
    EXECUTE format('DROP TABLE %I.%I', p_schema, p_live);
    EXECUTE format('ALTER TABLE %I.%I RENAME TO %I', p_schema, p_load, p_live);
    SELECT c.relname INTO v_seq FROM pg_class c
     WHERE c.oid = pg_get_serial_sequence(format('%I.%I', p_schema, p_live), 'id')::regclass;
    IF v_live_seq IS NOT NULL AND v_seq IS NOT NULL AND v_seq <> v_live_seq THEN
        EXECUTE format('ALTER SEQUENCE %I.%I RENAME TO %I', p_schema, v_seq, v_live_seq);
    END IF;
    v_oid := format('%I.%I', p_schema, p_live)::regclass;
    FOR v_index IN SELECT * FROM jsonb_array_elements(p_indexes) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                        WHERE i.indrelid = v_oid AND c.relname = v_index->>'temp') THEN
            RAISE EXCEPTION 'index % is not on %', v_index->>'temp', p_live USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF v_index->>'constraint' = 'p' THEN
            EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I PRIMARY KEY USING INDEX %I', p_schema, p_live,
                           v_index->>'name', v_index->>'temp');
        ELSIF v_index->>'constraint' = 'u' THEN
            EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I UNIQUE USING INDEX %I', p_schema, p_live,
                           v_index->>'name', v_index->>'temp');
        ELSE
            EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', p_schema, v_index->>'temp', v_index->>'name');
        END IF;
    END LOOP;
END $$;

-- A bulk change inside the apply transaction: drop the secondary (non-unique) indexes of a mirror table, and
-- rebuild exactly those later in the same transaction (their definitions are kept where the caller cannot
-- write them).
CREATE OR REPLACE FUNCTION {P}.indexes_drop(p_schema text, p_table text)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_row record; v_count integer := 0;
BEGIN
    PERFORM {P}.check_mirror(p_schema, p_table);
    FOR v_row IN SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = p_schema AND tablename = p_table
                  AND indexdef NOT LIKE 'CREATE UNIQUE%' LOOP
        INSERT INTO {P}.index_stash VALUES (pg_current_xact_id(), p_schema, p_table, v_row.indexname,
                                           v_row.indexdef);
        EXECUTE format('DROP INDEX %I.%I', p_schema, v_row.indexname);
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END $$;

CREATE OR REPLACE FUNCTION {P}.indexes_restore(p_schema text, p_table text)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_row record; v_count integer := 0;
BEGIN
    PERFORM {P}.check_mirror(p_schema, p_table);
    FOR v_row IN DELETE FROM {P}.index_stash WHERE tx = pg_current_xact_id() AND schema_name = p_schema
                  AND table_name = p_table RETURNING definition LOOP
        EXECUTE v_row.definition;
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END $$;
"""


def owner_sql() -> str:
    return SQL


def call(function: str, *args: object) -> object:
    """``SELECT madoguchi_private.<function>(args…)`` on the application connection (its transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {P}.{function}({', '.join(['%s'] * len(args))})", list(args))
        row = cursor.fetchone()
    return row[0] if row else None

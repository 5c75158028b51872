"""Bulk replacement of a mirror table: load a new table, index it from several connections, swap it in.

A full snapshot that rewrites most of a large mirror (the first load of 1,000,000 residents, a
re-numbering) costs far less as a new table than as row-by-row changes to the live one:

1. the file is staged straight into a *load table* in the municipality's schema, a committed copy of the
   live table's definition (``LIKE … INCLUDING …``: columns, identity, NOT NULL and CHECK constraints),
   so staging it is the only time the rows are written;
2. once every row is valid, the live table's indexes (and the derived 世帯 table) are built on the load
   tables by ``INDEX_CONNECTIONS`` connections at once (PostgreSQL 15 builds each index, GIN in
   particular, in one backend: two builds side by side use both cores);
3. one short transaction, inside the import's apply transaction, drops the live tables and renames the
   load tables, their indexes, constraints and identity sequences to the live names.

Until step 3 commits, the live tables are untouched: a failure anywhere (bad row, duplicate key caught by
the unique index, a killed worker) leaves them as they were, and the load tables are dropped — by this
run, or by the next run of the municipality if the process died (``drop_abandoned``).
Row identities (``id``) are renumbered; nothing refers to mirror rows by ``id`` (宛名番号 is the key).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
from django.db import OperationalError, connection, transaction

from integration import privileged

logger = logging.getLogger(__name__)
LOAD_PREFIX = "linkage_load_"
INDEX_CONNECTIONS = max(1, int(os.environ.get("MADOGUCHI_INDEX_CONNECTIONS", "2")))
LOCK_WAIT, LOCK_ATTEMPTS, LOCK_PAUSE = "2s", 10, 0.5  # see _lock_exclusive
# Relative cost of building an index, to spread the builds over the connections. A trigram GIN index costs
# with the number of trigrams, i.e. the text's length. Measured on 200,000 residents of the vendor file (seconds,
# statement by statement): address (22.5 characters on average) 5.6, kana (6.4) 1.5, name (3.9) 0.8; a b-tree
# 0.2–0.45; the 世帯 table derived, indexed and analysed 2.6. The address index alone is about 40 % of the work:
# it must have a connection to itself (with 0.6 + 0.17 × length and 3.5 for the 世帯, the name index joined it
# and the slower connection finished ~1 s after the other at 200,000 residents).
# Since 2026-12-06 the address is stored without the municipality's own 都道府県+市区町村 (integration.normalize.
# local_address): ~9 fewer characters in every row, and its index costs what its shorter text says (same 200,000
# addresses built alone, alternating, 3 times each: 1.31 s whole, 0.79 s without the prefix — 40 % less, as the
# average length, 23.5 → 14.5 characters).
_BTREE_COST = 0.3
HOUSEHOLDS_COST = 2.6


def _gin_cost(average_length: float) -> float:
    return 0.25 * average_length


@dataclass
class IndexCopy:
    """One index of the live table, to be built on the load table under a temporary name."""

    name: str  # the live index's name (also the constraint's name for primary key / unique constraints)
    temp_name: str
    sql: tuple[str, list]  # builds it on the load table (madoguchi_private.load_index, as the owner)
    constraint: str = ""  # "p" (primary key) or "u" (unique) when the index backs a constraint
    cost: float = _BTREE_COST


@dataclass
class TableCopy:
    live: str
    load: str
    indexes: list[IndexCopy] = field(default_factory=list)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_name(run_key: str, live: str) -> str:
    """Load table name for a run: ``linkage_load_<run>_<live table>`` cut to PostgreSQL's 63 bytes."""
    return f"{LOAD_PREFIX}{run_key}_{live}"[:63]


def can_swap(table: str) -> bool:
    """Only a table that no foreign key refers to and that has none itself can be swapped by renaming
    (foreign keys follow the table's identity, not its name); exclusion constraints are not copied either."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE (conrelid = %s::regclass AND contype IN ('f', 'x')) "
            "OR confrelid = %s::regclass", [table, table])
        return cursor.fetchone()[0] == 0


def create_load_table(*, live: str, load: str, staging: bool = False) -> None:
    """A committed, empty copy of ``live`` (no indexes yet), owned by the owner role; the application role may
    write it. ``updated_at`` gets a default for COPY; ``staging`` adds the line_no/op columns of staging."""
    privileged.call("load_create", connection.schema_name, live, load, staging)


def index_copies(*, live: str, load: str) -> TableCopy:
    """The definitions of every index of ``live``, rewritten for ``load``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisunique, am.amname, "
            "coalesce(con.contype, '') FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am am ON am.oid = c.relam "
            "LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid "
            "WHERE i.indrelid = %s::regclass ORDER BY c.relname", [live])
        rows = cursor.fetchall()
    copy = TableCopy(live=live, load=load)
    gin_columns = {m.group(1) for r in rows if r[3] == "gin" for m in [re.search(r"\((\w+) gin_trgm_ops\)", r[1])] if m}
    lengths: dict[str, float] = {}
    if gin_columns:
        with connection.cursor() as cursor:  # a 1 % sample of the loaded rows
            cursor.execute(f"SELECT {', '.join(f'coalesce(avg(length({c})), 0)' for c in sorted(gin_columns))} "
                           f"FROM {quote(load)} TABLESAMPLE SYSTEM (1)")
            lengths = dict(zip(sorted(gin_columns), map(float, cursor.fetchone()), strict=True))
    for number, (name, definition, _unique, method, contype) in enumerate(rows):
        head, sep, _tail = definition.partition(" USING ")
        if not sep or not re.match(r"CREATE (UNIQUE )?INDEX ", head):
            raise ValueError(f"unexpected index definition: {definition}")
        temp = f"{load[:50]}_i{number}"
        sql = (f"SELECT {privileged.P}.load_index(%s, %s, %s, %s)", [connection.schema_name, name, load, temp])
        column = re.search(r"\((\w+) gin_trgm_ops\)", definition)
        cost = _gin_cost(lengths.get(column.group(1), 10.0) if column else 10.0) if method == "gin" else _BTREE_COST
        copy.indexes.append(IndexCopy(name=name, temp_name=temp, sql=sql, constraint=contype, cost=cost))
    return copy


def _session_settings() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        search_path = cursor.fetchone()[0]
    return [f"SET search_path TO {search_path}", "SET maintenance_work_mem = '256MB'",
            "SET work_mem = '256MB'",  # the 世帯 derivation sorts every resident: in memory, not on disk
            # one build per connection: the connections themselves are the parallelism
            "SET max_parallel_maintenance_workers = 0"]


def analyze_statement(load: str, columns: list[str]) -> tuple[str, list]:
    return (f"SELECT {privileged.P}.load_analyze(%s, %s, %s)", [connection.schema_name, load, columns])


Statement = str | tuple[str, list]


def run_parallel(jobs: list[tuple[float, list[Statement]]], *, connections: int | None = None) -> None:
    """Run jobs (cost, statements run in order) on ``connections`` new autocommit connections at once,
    longest first onto the least loaded connection. The first error is raised after all have stopped."""
    if not jobs:
        return
    connections = connections or INDEX_CONNECTIONS
    lanes: list[list[str]] = [[] for _ in range(max(1, min(connections, len(jobs))))]
    load = [0.0] * len(lanes)
    for cost, statements in sorted(jobs, key=lambda job: -job[0]):
        lane = load.index(min(load))
        lanes[lane].extend(statements)
        load[lane] += cost
    params = connection.get_connection_params()
    settings = _session_settings()

    def work(statements: list[Statement]) -> None:
        with psycopg.connect(**params, autocommit=True) as conn:
            for statement in settings:
                conn.execute(statement)
            for statement in statements:
                started = time.perf_counter()
                sql, args = (statement, None) if isinstance(statement, str) else statement
                conn.execute(sql, args)
                logger.debug("%.2f s: %s %s", time.perf_counter() - started, sql[:80], args or "")

    with ThreadPoolExecutor(len(lanes)) as pool:
        futures = [pool.submit(work, lane) for lane in lanes]
        errors = [f.exception() for f in futures]
    for exc in errors:
        if exc is not None:
            raise exc


def swap_in(copies: list[TableCopy]) -> None:
    """Inside the caller's transaction: replace each live table by its load table (names of the table,
    indexes, constraints and identity sequence become the live ones)."""
    _lock_exclusive([c.live for c in copies])
    for copy in copies:  # as the owner, in this transaction (madoguchi_private.load_swap checks every name)
        indexes = [{"name": i.name, "temp": i.temp_name, "constraint": i.constraint} for i in copy.indexes]
        privileged.call("load_swap", connection.schema_name, copy.live, copy.load, json.dumps(indexes))


def _lock_exclusive(tables: list[str]) -> None:
    """Take the live tables for the swap. A waiting ACCESS EXCLUSIVE request queues every new reader behind
    it, so a long reader (an export, a report) must not freeze the counter screens: wait at most
    LOCK_WAIT at a time, let the readers through in between, and only the last attempt waits for good."""
    statement = f"LOCK TABLE {', '.join(quote(t) for t in tables)} IN ACCESS EXCLUSIVE MODE"
    for _attempt in range(LOCK_ATTEMPTS):
        try:
            with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: a timeout undoes only this
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
                cursor.execute(statement)
                cursor.execute("SET LOCAL lock_timeout = 0")
            return
        except OperationalError as exc:
            if not isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
                raise
            logger.info("swap of %s waits for readers", ", ".join(tables))
            time.sleep(LOCK_PAUSE)
    with connection.cursor() as cursor:
        cursor.execute(statement)


def drop_tables(names: list[str]) -> None:
    for name in names:
        privileged.call("load_drop", connection.schema_name, name)


def drop_abandoned(*, keep: set[str] | None = None, is_abandoned: object = None) -> list[str]:
    """Drop load tables of this schema left by a process that died (``is_abandoned(run_key)`` decides)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE %s",
                       [LOAD_PREFIX.replace("_", r"\_") + "%"])
        names = [row[0] for row in cursor.fetchall()]
    dropped = []
    for name in names:
        if keep and name in keep:
            continue
        run_key = name[len(LOAD_PREFIX):].split("_", 1)[0]
        if is_abandoned is None or is_abandoned(run_key):
            drop_tables([name])
            dropped.append(name)
    return dropped

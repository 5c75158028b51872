"""PostgreSQL pieces that degrade gracefully where an extension is missing.

Production and CI run PostgreSQL with contrib (pg_trgm). The embedded fallback of ``make run``
(pgserver) ships without contrib: there the trigram indexes become plain b-tree indexes, so
prefix searches stay indexed and infix searches scan — slower, but a laptop demo still works.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import CreateExtension


def extension_available(connection: object, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", [name])
        return cursor.fetchone() is not None


def extension_installed(connection: object, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = %s", [name])
        return cursor.fetchone() is not None


class OptionalTrigramExtension(CreateExtension):
    """CREATE EXTENSION pg_trgm where the server has it; nothing where it does not."""

    def __init__(self) -> None:
        super().__init__("pg_trgm")

    def database_forwards(self, app_label: str, schema_editor: object, from_state: object, to_state: object) -> None:
        if extension_available(schema_editor.connection, self.name):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return "Creates extension pg_trgm if available"


class TrigramIndex(GinIndex):
    """GIN trigram index (gin_trgm_ops); a b-tree on the same column where pg_trgm is not installed."""

    def __init__(self, *, fields: list[str], name: str) -> None:
        super().__init__(fields=fields, name=name, opclasses=["gin_trgm_ops"])

    def deconstruct(self) -> tuple:
        path, args, kwargs = super().deconstruct()
        kwargs.pop("opclasses", None)
        return "madoguchi.db.TrigramIndex", args, kwargs

    def create_sql(self, model: object, schema_editor: object, using: str = "", **kwargs: object) -> object:
        if extension_installed(schema_editor.connection, "pg_trgm"):
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        fields = [model._meta.get_field(name) for name in self.fields]
        return schema_editor._create_index_sql(model, fields=fields, name=self.name, using="", **kwargs)


# 宛名番号・世帯番号 and other code keys compare byte-wise (COLLATE "C"): they are digits, so the order is the
# same, and sorting, b-tree builds and joins on them skip the locale's collation (3x faster index builds on
# 1,000,000 residents). Every column holding such a key uses it, so joins between them agree.
KEY_COLLATION = "C"

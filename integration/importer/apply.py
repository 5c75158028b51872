"""Apply (phase 3 of the importer): the staged set written to the mirror in one transaction, or a bulk
replacement prepared outside it and swapped in."""

from __future__ import annotations

import time

import psycopg
from django.db import connection
from django.utils.translation import gettext as _

from integration import bulkswap, privileged
from integration.importer.checks import MAX_ERRORS
from integration.importer.rows import clear_normalisation_caches
from integration.models import SupportMeasure

BULK_ROWS = 50_000  # from here on, a large change rebuilds the secondary indexes instead of updating them


class ApplyMixin:
    """Phase 3 of ``Importer``: prepare the apply, apply, clean up."""

    # -- phase 3a: a bulk replacement is prepared outside the transaction ------------------------
    def prepare_apply(self) -> None:
        """If the rows were staged in a load table and they rewrite most of the mirror, finish the load
        table (its indexes, the derived 世帯 table) on several connections; ``apply`` then swaps it in.
        Otherwise the load table is just the staging table of the usual apply."""
        if not self.loaded or self.empty_no_change:
            return
        started = time.perf_counter()
        target, load = self.target, self.stage_table
        provided = {c for c in target.columns if c in self.builder.provided}
        compare = [c for c in target.columns if c in provided and c not in target.key_columns
                   and c != "personal_no_encrypted"]
        match = " AND ".join(f"t.{k} = s.{k}" for k in target.key_columns)
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT count(*) FROM "{target.table}"')
            existing = cursor.fetchone()[0]
            added, changed = self.staged, 0
            if existing:  # the rows to write, kept for the apply: a nightly file where little changed writes little
                differs = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in compare) or "false"
                households = (", s.household_no AS new_household, t.household_no AS old_household"
                              if target.key == "residents" else "")
                self.changes_table = f"linkage_changes_{id(self):x}"
                cursor.execute(f'CREATE TEMP TABLE "{self.changes_table}" AS SELECT s.line_no, t.id IS NULL AS is_new'
                               f'{households} FROM "{load}" s LEFT JOIN "{target.table}" t ON {match} '
                               f"WHERE t.id IS NULL OR ({differs})")
                cursor.execute(f'SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) '
                               f'FROM "{self.changes_table}"')
                added, changed = cursor.fetchone()
            deleted = existing - (self.staged - added)
            writes = added + changed + deleted
            if writes < BULK_ROWS or writes < existing // 5 or (existing and not self._nothing_lost(cursor, provided)):
                self._check_duplicates(cursor)  # the usual apply follows, with the load table as its stage
                self.planned = (writes, existing)
                self.timings["prepare"] = round(time.perf_counter() - started, 3)  # diff count + duplicates
                return
        copies = [bulkswap.index_copies(live=target.table, load=load)]
        jobs = [(index.cost, [index.sql]) for index in copies[0].indexes]
        # Statistics for the columns the screens filter on; the rest follow with autovacuum's own ANALYZE.
        analyzed = [c for c in ("atena_no", "household_no", "birth_date", "status", "search_name", "search_kana",
                                "search_address", "personal_no_hash") if c in target.columns]
        jobs.append((0.2, [bulkswap.analyze_statement(load, analyzed)]))
        if target.key == "residents" and (self.layout.options or {}).get("derive_households", True):
            households = bulkswap.load_name(self.load_key, "integration_household")
            self.load_tables.append(households)
            bulkswap.create_load_table(live="integration_household", load=households)
            copies.append(bulkswap.index_copies(live="integration_household", load=households))
            jobs.append((bulkswap.HOUSEHOLDS_COST, [
                _household_insert(into=households, source=f'"{load}" r WHERE r.status = \'resident\' ', first=True),
                *(index.sql for index in copies[1].indexes), bulkswap.analyze_statement(households, [])]))
        self.timings["apply_plan"] = round(time.perf_counter() - started, 3)
        mark = time.perf_counter()
        try:
            bulkswap.run_parallel(jobs)
        except psycopg.errors.UniqueViolation:  # the key's unique index found duplicates: report them
            with connection.cursor() as cursor:
                self._check_duplicates(cursor)
            if not self.error_count:
                raise
            return
        self.timings["apply_index"] = round(time.perf_counter() - mark, 3)
        self.swap = copies
        self.swap_counts = {"added": added, "changed": changed, "deleted": deleted}

    def _nothing_lost(self, cursor: object, provided: set[str]) -> bool:
        """Columns this layout does not deliver keep their values on an upsert; a swap would reset them to
        the defaults, so it is only taken when the live table holds nothing but defaults there."""
        missing = [(c, self.builder.template[self.builder.idx[c]]) for c in self.target.columns
                   if c not in provided and c != self.target.scope_column]
        if not missing:
            return True
        cursor.execute(f'SELECT NOT EXISTS (SELECT 1 FROM "{self.target.table}" WHERE '
                       f'({", ".join(c for c, _ in missing)}) IS DISTINCT FROM ({", ".join(["%s"] * len(missing))}))',
                       [value for _, value in missing])
        return bool(cursor.fetchone()[0])

    # -- phase 3: apply (caller holds the transaction) --------------------------------------------
    def apply(self) -> dict[str, int]:
        if self.empty_no_change:
            return {"added": 0, "changed": 0, "deleted": 0, "unchanged": 0}
        if self.swap:
            return self._apply_swap()
        if self.target.by_layout_key and self.target.key == "support_measures":
            return self._apply_measures_by_person()
        started = time.perf_counter()
        target, stage = self.target, self.stage_table
        keys = target.key_columns
        cols = target.columns
        provided = [c for c in cols if c in self.builder.provided or c == target.scope_column]
        if target.allow_details:
            provided.append("details")
        update_cols = [c for c in provided if c not in keys and c != target.scope_column]
        compare = [c for c in update_cols if c != "personal_no_encrypted"]
        sets = [f"{c} = EXCLUDED.{c}" for c in update_cols if c != "personal_no_encrypted"]
        if "personal_no_encrypted" in update_cols:
            sets.append("personal_no_encrypted = CASE WHEN t.personal_no_hash IS DISTINCT FROM "
                        "EXCLUDED.personal_no_hash THEN EXCLUDED.personal_no_encrypted "
                        "ELSE t.personal_no_encrypted END")
        sets.append("updated_at = now()")
        counts = {"added": 0, "changed": 0, "deleted": 0}
        timings: dict[str, float] = {}

        def lap(name: str, since: float) -> float:
            now = time.perf_counter()
            timings[name] = round(now - since, 3)
            return now

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                           [f"linkage:{connection.schema_name}:{target.table}"])
            scope_sql, scope_params = "", []
            if target.routed:  # a multi-area file is the whole set of the areas it routes to (and the plan has)
                scope_sql = f" AND t.{target.scope_column} = ANY(%s)"
                scope_params = [self.routed_scope()]
            elif target.scope_column:
                scope_sql = f" AND t.{target.scope_column} = %s"
                scope_params = [target.defaults[target.scope_column]]
            match = " AND ".join(f"t.{k} = s.{k}" for k in keys)
            where = ""
            if compare:
                where = (f" WHERE ({', '.join('t.' + c for c in compare)}) IS DISTINCT FROM "
                         f"({', '.join('EXCLUDED.' + c for c in compare)})")
            mark = time.perf_counter()
            rebuild = self._drop_search_indexes(cursor, compare, match) if self.staged >= BULK_ROWS else []
            mark = lap("apply_plan", mark)
            only_changed = ""
            if self.changes_table and self.layout.mode == "full":
                only_changed = f' AND line_no IN (SELECT line_no FROM "{self.changes_table}")'
            if only_changed and target.key == "residents":  # 世帯 of written or removed residents: re-derived
                self.touched_table = f"linkage_touched_{id(self):x}"
                cursor.execute(f'CREATE TEMP TABLE "{self.touched_table}" AS SELECT new_household AS household_no '
                               f'FROM "{self.changes_table}" UNION SELECT old_household FROM "{self.changes_table}" '
                               "WHERE old_household IS NOT NULL")
                cursor.execute(
                    f'WITH gone AS (DELETE FROM "{target.table}" t WHERE NOT EXISTS '
                    f'(SELECT 1 FROM "{stage}" s WHERE {match}){scope_sql} RETURNING t.household_no) '
                    f'INSERT INTO "{self.touched_table}" SELECT household_no FROM gone', scope_params)
                counts["deleted"] = cursor.rowcount
            elif self.layout.mode == "full" and target.key == "support_measures":
                # A full support-measure file ends (never deletes) the live measures it no longer lists, each reported.
                self._end_unlisted_measures(cursor, match=match)  # counted as changed below, not as deleted
            elif self.layout.mode == "full":
                cursor.execute(
                    f'DELETE FROM "{target.table}" t WHERE NOT EXISTS '
                    f'(SELECT 1 FROM "{stage}" s WHERE {match}){scope_sql}', scope_params)
                counts["deleted"] = cursor.rowcount
            else:
                cursor.execute(
                    f'DELETE FROM "{target.table}" t USING "{stage}" s WHERE s.op = \'D\' AND {match}{scope_sql}',
                    scope_params)
                counts["deleted"] = cursor.rowcount
            mark = lap("apply_delete", mark)
            conflict = f"DO UPDATE SET {', '.join(sets)}{where}" if update_cols else "DO NOTHING"
            cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{target.table}" t WHERE true{scope_sql})', scope_params)
            if not cursor.fetchone()[0]:  # nothing there yet (first load): a plain INSERT, no conflicts possible
                cursor.execute(f"INSERT INTO \"{target.table}\" ({', '.join(cols)}, updated_at) "
                               f"SELECT {', '.join(cols)}, now() FROM \"{stage}\" WHERE op <> 'D'")
                counts["added"] = cursor.rowcount
            else:
                cursor.execute(
                    f"WITH upserted AS (INSERT INTO \"{target.table}\" AS t ({', '.join(cols)}, updated_at) "
                    f"SELECT {', '.join(cols)}, now() FROM \"{stage}\" WHERE op <> 'D'{only_changed} "
                    f"ON CONFLICT {target.conflict} {conflict} RETURNING (xmax = 0) AS inserted) "
                    "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted"
                )
                counts["added"], counts["changed"] = cursor.fetchone()
            counts["changed"] += self.measures_ended
            mark = lap("apply_upsert", mark)
            if rebuild:
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
                cursor.execute(f"SELECT {privileged.P}.indexes_restore(%s, %s)", [connection.schema_name, target.table])
                mark = lap("apply_reindex", mark)
            touched = counts["added"] or counts["changed"] or counts["deleted"]
            if target.key == "residents" and touched and (self.layout.options or {}).get("derive_households", True):
                self._derive_households(cursor)
                mark = lap("apply_households", mark)
            if self.builder.indicator is not None:
                self._apply_indicators(cursor, scope=f'"{stage}" s WHERE s.op <> \'D\' AND')
                mark = lap("apply_support", mark)
        self.timings.update(timings)
        counts["unchanged"] = max(0, self.staged - counts["added"] - counts["changed"] + self.measures_ended - (
            counts["deleted"] if self.layout.mode == "delta" else 0))
        self.timings["apply"] = round(time.perf_counter() - started, 3)
        return counts

    def _apply_indicators(self, cursor: object, *, scope: str) -> None:
        """The 支援措置 indicators of the resident records: a measure is added for an indicated resident who has
        no live one of that kind; a measure is NEVER ended here. A resident of this file without an indicator
        who has a live measure is reported (``warnings``) and the measure stays: only the support-measure file
        or an admin ends a measure, so a DV victim's protection cannot vanish because a file omitted a flag."""
        pairs = sorted(set(self.builder.indicated))
        start = (self.frame.reference_date if self.frame and self.frame.reference_date else None)
        if pairs:
            cursor.execute(
                "INSERT INTO integration_supportmeasure (atena_no, kind, start_date, end_date, restrict_address, note, "
                "updated_at) SELECT x.atena_no, x.kind, COALESCE(%s, current_date), NULL, true, %s, now() "
                "FROM unnest(%s::text[], %s::text[]) AS x(atena_no, kind) WHERE NOT EXISTS (SELECT 1 FROM "
                "integration_supportmeasure m WHERE m.atena_no = x.atena_no AND m.kind = x.kind AND "
                "(m.end_date IS NULL OR m.end_date >= current_date)) "
                "ON CONFLICT (atena_no, kind, start_date) DO NOTHING",
                [start, _("住民記録ファイルの支援措置区分により設定"), [a for a, _k in pairs], [k for _a, k in pairs]])
            self.measures_added = cursor.rowcount
        indicated = sorted({atena for atena, _kind in pairs})
        cursor.execute(
            f"SELECT m.atena_no, m.kind FROM integration_supportmeasure m WHERE (m.end_date IS NULL OR "
            f"m.end_date >= current_date) AND NOT (m.atena_no = ANY(%s)) AND EXISTS (SELECT 1 FROM {scope} "
            f"s.atena_no = m.atena_no) ORDER BY m.atena_no, m.kind LIMIT %s", [indicated, 1000])
        label = self.builder.labels[self.builder.indicator[0]]
        kinds = dict(SupportMeasure.Kind.choices)
        for atena, kind in cursor.fetchall():
            self.warnings.append({"line": 0, "column": label, "message": _(
                "宛名番号「%(atena)s」: 住民記録に支援措置区分がありませんが、支援措置（%(kind)s）が継続中です。"
                "支援措置は終了していません（終了は支援措置ファイルか業務管理者の操作で行います）")
                % {"atena": atena, "kind": kinds.get(kind, kind)}})

    def _apply_measures_by_person(self) -> dict[str, int]:
        """A support-measure file keyed by 宛名番号 alone (the layout's ``key_fields``; the vendor keeps no period
        key): each row is that person's current measure, i.e. the mirror's latest measure of the person (by 開始日).

        - 追加・変更 (and every row of a full file): the current measure is updated in place when it is still running
          on the row's 開始日 (or starts that day); when it ended before, or the person has none, the row is a new
          measure and the old ones stay as history.
        - 削除: the current measure is deleted (the check phase refused a 削除 of a person without one).
        - A full file is the whole set: a live measure of a person it no longer lists is ENDED (終了日 = the day before
          the file's 基準日, or before today), never deleted, and each one is reported on the run (確認事項) — the
          support-measure file may end a measure, but a protection never vanishes unseen.
        """
        started = time.perf_counter()
        stage, table = self.stage_table, self.target.table
        columns = self.target.columns
        values = [c for c in columns if c != "atena_no" and (c in self.builder.provided or c == "kind")]
        plan = f"linkage_measures_{id(self):x}"
        counts = {"added": 0, "changed": 0, "deleted": 0}
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"linkage:{connection.schema_name}:{table}"])
            cursor.execute(
                f'CREATE TEMP TABLE "{plan}" ON COMMIT DROP AS SELECT s.line_no, c.id AS measure_id, CASE '
                "WHEN s.op = 'D' THEN 'delete' WHEN c.id IS NOT NULL AND (c.end_date IS NULL OR c.end_date >= "
                "s.start_date OR c.start_date = s.start_date) THEN 'update' ELSE 'insert' END AS action "
                f'FROM "{stage}" s LEFT JOIN LATERAL (SELECT m.id, m.start_date, m.end_date FROM "{table}" m '
                "WHERE m.atena_no = s.atena_no ORDER BY m.start_date DESC, m.id DESC LIMIT 1) c ON true")
            cursor.execute(f'DELETE FROM "{table}" WHERE id IN (SELECT measure_id FROM "{plan}" '
                           "WHERE action = 'delete')")
            counts["deleted"] = cursor.rowcount
            if self.layout.mode == "full":
                self._end_unlisted_measures(cursor, match="t.atena_no = s.atena_no")
            cursor.execute(
                f'UPDATE "{table}" m SET {", ".join(f"{c} = s.{c}" for c in values)}, updated_at = now() '
                f'FROM "{plan}" p JOIN "{stage}" s ON s.line_no = p.line_no WHERE p.action = \'update\' '
                f"AND m.id = p.measure_id AND ({', '.join('m.' + c for c in values)}) IS DISTINCT FROM "
                f"({', '.join('s.' + c for c in values)})")
            counts["changed"] = cursor.rowcount + self.measures_ended
            # (a new period whose kind and 開始日 an old measure of the person already has: that one is taken up again)
            sets = [f"{c} = EXCLUDED.{c}" for c in values if c not in ("kind", "start_date")]
            cursor.execute(
                f'INSERT INTO "{table}" AS t ({", ".join(columns)}, updated_at) SELECT '
                f'{", ".join("s." + c for c in columns)}, now() FROM "{stage}" s JOIN "{plan}" p ON '
                f"p.line_no = s.line_no WHERE p.action = 'insert' ON CONFLICT (atena_no, kind, start_date) DO UPDATE "
                f"SET {', '.join([*sets, 'updated_at = now()'])}")
            counts["added"] = cursor.rowcount
            # ON COMMIT DROP does nothing inside a caller's transaction, where a later run may get the same name
            cursor.execute(f'DROP TABLE "{plan}"')
        counts["unchanged"] = max(0, self.staged - counts["added"] - counts["changed"] + self.measures_ended
                                  - counts["deleted"])
        self.timings["apply"] = round(time.perf_counter() - started, 3)
        return counts

    def _end_unlisted_measures(self, cursor: object, *, match: str) -> None:
        """Full support-measure file: end the live measures whose key it does not list (``match`` joins the
        measure t to a staged row s), the day before its 基準日 (or today); report each on the run."""
        reference = self.frame.reference_date if self.frame and self.frame.reference_date else None
        cursor.execute(
            f'UPDATE "{self.target.table}" t SET end_date = COALESCE(%s::date, current_date) - 1, updated_at = now() '
            "WHERE (t.end_date IS NULL OR t.end_date >= COALESCE(%s::date, current_date)) AND NOT EXISTS "
            f'(SELECT 1 FROM "{self.stage_table}" s WHERE {match}) RETURNING t.atena_no, t.kind, t.start_date, '
            "t.end_date", [reference, reference])
        ended = sorted(cursor.fetchall())
        self.measures_ended = len(ended)
        label = next((self.builder.labels[i] for i, c in enumerate(self.layout.columns) if c["field"] == "atena_no"),
                     "")
        kinds = dict(SupportMeasure.Kind.choices)
        for atena, kind, start, end in ended[:MAX_ERRORS]:
            self.warnings.append({"line": 0, "column": label, "message": _(
                "宛名番号「%(atena)s」: 支援措置（%(kind)s、開始日 %(start)s）は"
                "全件の支援措置ファイルに載っていないため、%(end)s で終了しました。"
                "誤りであれば業務管理者が支援措置を登録し直してください")
                % {"atena": atena, "kind": kinds.get(kind, kind), "start": start.isoformat(),
                   "end": end.isoformat()}})

    def routed_scope(self) -> list[str]:
        """The business areas a multi-area file covers: its code table's areas that the plan includes."""
        table = (self.layout.code_tables or {}).get(self.target.field(self.target.scope_column).code_table) or {}
        return sorted(set(table.values()) & self.builder.plan)

    def _apply_swap(self) -> dict[str, int]:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                           [f"linkage:{connection.schema_name}:{self.target.table}"])
        bulkswap.swap_in(self.swap)  # staging columns go (metadata only), as does COPY's default
        if self.builder.indicator is not None:  # the file is the live table now
            with connection.cursor() as cursor:
                self._apply_indicators(cursor, scope="integration_resident s WHERE")
        self.timings["apply_swap"] = round(time.perf_counter() - started, 3)
        self.timings["apply"] = round(time.perf_counter() - started + self.timings.get("apply_index", 0)
                                      + self.timings.get("apply_plan", 0), 3)
        return {**self.swap_counts, "unchanged": max(0, self.staged - self.swap_counts["added"]
                                                     - self.swap_counts["changed"])}

    def _drop_search_indexes(self, cursor: object, compare: list[str], match: str) -> list[str]:
        """For a bulk change, drop the secondary indexes (trigram GIN, b-tree) and return their definitions.

        Maintaining them row by row costs more than building them once; only done when at least
        BULK_ROWS rows and a fifth of the table will be written. Runs inside the apply
        transaction, so a failure restores the indexes with everything else.
        """
        target, stage = self.target, self.stage_table
        # Secondary indexes only: unique ones (primary key, the natural key used by ON CONFLICT) stay.
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                       "AND tablename = %s AND indexdef NOT LIKE %s", [target.table, "CREATE UNIQUE%"])
        indexes = cursor.fetchall()
        if not indexes:
            return []
        if self.planned is not None:
            writes, existing = self.planned
        else:
            differs = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in compare) or "false"
            cursor.execute(f'SELECT count(*) FROM "{stage}" s LEFT JOIN "{target.table}" t ON {match} '
                           f"WHERE s.op <> 'D' AND (t.id IS NULL OR {differs})")
            writes = cursor.fetchone()[0]
            cursor.execute(f'SELECT count(*) FROM "{target.table}"')
            existing = cursor.fetchone()[0]
        if writes < BULK_ROWS or writes < existing // 5:
            return []
        # As the owner (the application role owns no table); rebuilt by indexes_restore in this transaction.
        cursor.execute(f"SELECT {privileged.P}.indexes_drop(%s, %s)", [connection.schema_name, target.table])
        return [definition for _name, definition in indexes]

    def _derive_households(self, cursor: object) -> None:
        """世帯 rows follow the residents: head, address of each household touched by this file."""
        stage = self.stage_table
        full = self.layout.mode == "full"
        # A full file holds every resident: derive from the staged rows (no join with the mirror).
        source = (f'"{stage}" r WHERE r.op <> \'D\' AND r.status = \'resident\' ' if full else
                  f'integration_resident r WHERE r.household_no IN (SELECT household_no FROM "{stage}") '
                  "AND r.status = 'resident' ")
        touched = ""
        if full and self.touched_table:  # only the 世帯 whose residents were written or removed
            touched = f'h.household_no IN (SELECT household_no FROM "{self.touched_table}") AND '
            source += f'AND r.household_no IN (SELECT household_no FROM "{self.touched_table}") '
        cursor.execute("SELECT EXISTS (SELECT 1 FROM integration_household)")
        first = not cursor.fetchone()[0]
        cursor.execute(_household_insert(into="integration_household", source=source, first=first))
        if first:  # no households before: each one just derived has a living resident, nothing to delete
            return
        living = (f'"{stage}" r WHERE r.op <> \'D\' AND' if full else "integration_resident r WHERE")
        cursor.execute(
            f"DELETE FROM integration_household h WHERE {touched}NOT EXISTS (SELECT 1 FROM {living} "
            "r.household_no = h.household_no AND r.status = 'resident')"
        )

    def drop_stage(self) -> None:
        """Drop the staging table and any load table not swapped in (and forget cached names)."""
        # Names and addresses of this municipality's residents must not linger in a worker that
        # serves other municipalities next.
        clear_normalisation_caches()
        try:
            with connection.cursor() as cursor:  # temporary tables (the application role's own)
                for table in (self.stage_table, self.changes_table, self.touched_table):
                    if table and table not in self.load_tables:
                        cursor.execute(f'DROP TABLE IF EXISTS "{table}"')
        except Exception:  # noqa: BLE001,S110 - the connection may be gone; temp tables die with it
            pass
        try:
            if self.load_tables:  # owned by the owner role: dropped through its function; renamed away if swapped in
                bulkswap.drop_tables(self.load_tables)
        except Exception:  # noqa: BLE001,S110 - the connection may be gone; the next run drops them (drop_abandoned)
            pass



def _household_insert(*, into: str, source: str, first: bool) -> str:
    """世帯 rows derived from residents (``source``: a FROM … WHERE clause aliased r): head, address."""
    return (
        f'INSERT INTO "{into}" AS h (household_no, head_atena_no, address, address_katagaki, '
        "address_code, postcode, updated_at) "
        "SELECT DISTINCT ON (r.household_no) r.household_no, "
        "CASE WHEN r.relationship = '世帯主' THEN r.atena_no ELSE '' END, r.address, r.address_katagaki, "
        f"r.address_code, r.postcode, now() FROM {source}"
        "ORDER BY r.household_no, (r.relationship <> '世帯主'), r.birth_date " + ("" if first else
        "ON CONFLICT (household_no) DO UPDATE SET head_atena_no = EXCLUDED.head_atena_no, "
        "address = EXCLUDED.address, address_katagaki = EXCLUDED.address_katagaki, "
        "address_code = EXCLUDED.address_code, postcode = EXCLUDED.postcode, updated_at = now() "
        "WHERE (h.head_atena_no, h.address, h.address_katagaki, h.address_code, h.postcode) IS DISTINCT FROM "
        "(EXCLUDED.head_atena_no, EXCLUDED.address, EXCLUDED.address_katagaki, EXCLUDED.address_code, "
        "EXCLUDED.postcode)")
    )

"""File-level checks (phase 2 of the importer): what only the whole staged set can tell, in SQL."""

from __future__ import annotations

import time

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from integration.parsers import error

MAX_ERRORS = 1000


class ChecksMixin:
    """Phase 2 of ``Importer``: cross-row checks in SQL."""

    def check_staged(self) -> None:
        started = time.perf_counter()
        if self.empty_no_change:
            return
        framed_empty = (self.rows == 0 and self.layout.mode == "delta" and self.frame is not None
                        and self.frame.record_count == 0)  # a delta with header and trailer "0 件": no change
        if (self.rows == 0 and not framed_empty) or (self.staged == 0 and self.error_count == 0 and self.rows):
            self.add_error(error(0, "", _("データ行がありません（空のファイルです）")))
            return
        keys = self.target.key_columns
        labels = [self.target.field(k).label for k in keys]
        with connection.cursor() as cursor:
            if not self.loaded:  # a load table is checked by prepare_apply (its unique index, when swapped)
                self._check_duplicates(cursor)
            if self.layout.mode == "delta" and self.redelivery_of is not None:
                self._check_redelivered_deletes(cursor, labels[0])
            if self.layout.mode == "delta":
                match = " AND ".join(f"t.{k} = s.{k}" for k in keys)
                scope = f" AND t.{self.target.scope_column} = s.{self.target.scope_column}" \
                    if self.target.scope_column else ""
                cursor.execute(
                    f'SELECT s.line_no, {", ".join("s." + k for k in keys)} FROM "{self.stage_table}" s '
                    f'WHERE s.op = \'D\' AND NOT EXISTS (SELECT 1 FROM "{self.target.table}" t WHERE {match}{scope}) '
                    "ORDER BY s.line_no LIMIT %s", [MAX_ERRORS]
                )
                for line, *key in cursor.fetchall():
                    self.add_error(error(line, labels[0], _("削除対象の%(key)sが登録されていません")
                                         % {"key": _key_text(labels, key)}))
            self._check_references(cursor)
        self.timings["check"] = round(time.perf_counter() - started, 3)

    def _check_redelivered_deletes(self, cursor: object, label: str) -> None:
        """A delta with the bytes of the last file applied (a re-delivery, or the same change sent again): its
        追加・変更 rows write the same values again, but a 削除 is never a no-op — it would fail on the key gone, or,
        keyed by 宛名番号 alone, delete the person's older measure or one registered since. Refused, for a person
        to look at."""
        cursor.execute(f'SELECT line_no FROM "{self.stage_table}" WHERE op = \'D\' ORDER BY line_no LIMIT %s',
                       [MAX_ERRORS])
        for (line,) in cursor.fetchall():
            self.add_error(error(line, label, _(
                "前回取り込んだ差分ファイル（履歴番号 %(run)s）と同じ内容です。削除の行をもう一度反映すると別のデータを"
                "削除するおそれがあるため、取り込みませんでした。再送であれば取り込む必要はありません。"
                "削除が必要かどうかは基幹系の担当者に確認してください") % {"run": self.redelivery_of}))

    def _check_references(self, cursor: object) -> None:
        """Columns declared ``"exists_in": "residents"``: each value must be a 宛名番号 of the 住基 mirror."""
        for column in self.layout.columns:
            if column.get("exists_in") != "residents":
                continue
            spec = self.target.field(column["field"])
            label = column.get("label") or spec.label
            cursor.execute(
                f'SELECT s.line_no, s.{spec.column} FROM "{self.stage_table}" s WHERE s.op <> \'D\' AND NOT EXISTS '
                f"(SELECT 1 FROM integration_resident r WHERE r.atena_no = s.{spec.column}) "
                "ORDER BY s.line_no LIMIT %s", [MAX_ERRORS])
            for line, value in cursor.fetchall():
                self.add_error(error(line, label, _("%(label)s「%(value)s」は住民記録にありません")
                                     % {"label": label, "value": value}))

    def _check_duplicates(self, cursor: object) -> None:
        keys = self.target.key_columns
        labels = [self.target.field(k).label for k in keys]
        key_list = ", ".join(keys)
        cursor.execute(
            f'SELECT {key_list}, array_agg(line_no ORDER BY line_no) FROM "{self.stage_table}" '
            f"GROUP BY {key_list} HAVING count(*) > 1 ORDER BY min(line_no) LIMIT %s", [MAX_ERRORS]
        )
        for *key, lines in cursor.fetchall():
            message = _("%(key)sが重複しています（%(line)s行目と同じキー）") % {"key": _key_text(labels, key),
                                                                           "line": lines[0]}
            for line in lines[1:]:
                self.add_error(error(line, labels[0], message))


def _key_text(labels: list[str], values: list[object]) -> str:
    """A key for a message: 宛名番号「123」・種別「dv」 (labels of the key fields with the values)."""
    return pgettext("separator", "・").join(_("%(label)s「%(value)s」") % {"label": label, "value": value}
                                           for label, value in zip(labels, values, strict=True))


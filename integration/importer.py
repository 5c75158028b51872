"""The import engine: validate every row, stage with COPY, check the staged set, apply in one transaction.

``services.import_execute`` drives it; this module knows nothing about runs or requests. All rows are
validated before anything is applied; rows are streamed (never the whole file in memory) into a
temporary table, cross-row checks (duplicate keys, deletes of missing keys) run in SQL, and the
set-based apply is a handful of statements inside one transaction.
"""

from __future__ import annotations

import gc
import io
import json
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import BinaryIO

import psycopg
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from integration import bulkswap, normalize, privileged
from integration.checkdigits import all_valid_atena_digits, is_valid_atena_no
from integration.dates import make_date_parser
from integration.gaiji import PUA_RE, GaijiConverter, describe_code
from integration.parsers import SNIFF_BYTES, FileRejected, NotPlain, error, parser_for, utf8_instead
from integration.targets import Target, is_valid_relationship, target_for

MAX_ERRORS = 1000
PROGRESS_EVERY = 20_000
BATCH = 2_000
BULK_ROWS = 50_000  # from here on, a large change rebuilds the secondary indexes instead of updating them
# Full snapshots of these targets, from files of SWAP_MIN_BYTES, are staged in a load table that replaces the
# live table when most rows change (integration.bulkswap); the 世帯 table is derived alongside.
SWAP_TARGETS = {"residents"}
SWAP_MIN_BYTES = 16 * 1024 * 1024
STRIP = " \u3000\t"
# A value of a batch column (values joined by \x1f) that starts or ends with what STRIP removes
# (substring tests: several times faster than one regular expression over the column).
STRIP_SET = frozenset(STRIP)
_EDGES = tuple(edge for char in STRIP for edge in ("\x1f" + char, char + "\x1f"))
# Big files are validated in worker processes, parts of about CHUNK_BYTES at a time (IN_FLIGHT queued).
WORKERS = int(os.environ.get("MADOGUCHI_IMPORT_WORKERS", min(2, os.cpu_count() or 1)))
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
CHUNK_BYTES = 4 * 1024 * 1024
IN_FLIGHT = WORKERS + 1
OPS = {"add": "A", "change": "C", "delete": "D"}
TRUE_VALUES = {"1", "true", "t", "yes", "y", "有", "あり", "する", "○"}
FALSE_VALUES = {"0", "false", "f", "no", "n", "無", "なし", "しない"}


class LayoutInvalid(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(pgettext("separator", "；").join(problems))
        self.problems = problems


def layout_problems(layout: object) -> list[str]:
    """Everything wrong with a layout definition (empty list = usable)."""
    problems: list[str] = []
    try:
        target = target_for(layout.target)
    except ValueError as exc:
        return [str(exc)]
    if not layout.columns:
        problems.append(_("項目が定義されていません"))
    seen: set[str] = set()
    for index, column in enumerate(layout.columns or [], start=1):
        name = column.get("field", "")
        spec = target.field(name)
        if spec is None:
            problems.append(_("%(index)s列目: 項目「%(name)s」は取込先「%(target)s」にありません")
                            % {"index": index, "name": name, "target": target.label})
            continue
        if name in seen and name != "ignore":
            problems.append(_("%(index)s列目: 項目「%(label)s」が重複しています")
                            % {"index": index, "label": spec.label})
        seen.add(name)
        start, length = int(column.get("start") or 0), int(column.get("length") or 0)
        if layout.format == "fixed" and not (start >= 1 and length >= 1):
            problems.append(_("%(index)s列目: 固定長の開始位置と長さを指定してください") % {"index": index})
        if spec.kind == "code" and spec.choices and spec.code_table in (layout.code_tables or {}):
            bad = [v for v in layout.code_tables[spec.code_table].values() if v not in spec.choices]
            if bad:
                allowed = ", ".join(spec.choices)
                problems.append(_("コード表「%(table)s」の変換先 %(bad)s は使用できません（%(allowed)s）")
                                % {"table": spec.code_table, "bad": bad, "allowed": allowed})
    if layout.format == "fixed":
        problems += _fixed_width_problems(layout)
    elif layout.format == "csv" and len(layout.delimiter or "") != 1:
        problems.append(_("CSVの区切り文字を1文字で指定してください"))
    for name in target.required:
        if name not in seen:
            problems.append(_("必須項目「%(label)s」がレイアウトにありません") % {"label": target.field(name).label})
    for name in layout.key_fields or []:
        if name not in seen and not (name == "kind" and target.key.startswith("eligibility:")):
            problems.append(_("キー項目「%(name)s」がレイアウトにありません") % {"name": name})
    if layout.key_fields and set(layout.key_fields) != set(target.key_columns):
        labels = pgettext("separator", "・").join(target.field(c).label for c in target.key_columns)
        problems.append(_("キー項目は取込先「%(target)s」では %(labels)s です")
                        % {"target": target.label, "labels": labels})
    if layout.mode == "delta":
        codes = set((layout.op_codes or {}).values())
        if "op" not in seen:
            problems.append(_("差分ファイルには「処理区分」の項目が必要です"))
        elif not codes:
            problems.append(_("差分ファイルの処理区分コード（追加・変更・削除）を指定してください"))
        elif not codes <= set(OPS):
            problems.append(_("処理区分コードの値は add / change / delete のいずれかにしてください"))
    try:
        make_date_parser(layout.date_formats or ["yyyymmdd"])
    except ValueError as exc:
        problems.append(str(exc))
    return problems


def _fixed_width_problems(layout: object) -> list[str]:
    """Fixed-width columns must lie inside the record and must not overlap (positions are 1-based bytes)."""
    problems: list[str] = []
    spans = []
    for index, column in enumerate(layout.columns or [], start=1):
        start, length = int(column.get("start") or 0), int(column.get("length") or 0)
        if start >= 1 and length >= 1:
            spans.append((start, start + length - 1, index, column.get("label") or column.get("field", "")))
    if not layout.record_length:
        problems.append(_("固定長ファイルのレコード長（バイト）を指定してください"))
    else:
        for start, end, index, label in spans:
            if end > layout.record_length:
                problems.append(_("%(index)s列目「%(label)s」: %(start)s〜%(end)s バイト目はレコード長 "
                                  "%(length)s バイトを超えています")
                                % {"index": index, "label": label, "start": start, "end": end,
                                   "length": layout.record_length})
    spans.sort()
    for (s1, e1, i1, l1), (s2, e2, i2, l2) in zip(spans, spans[1:], strict=False):
        if s2 <= e1:
            problems.append(_("%(index)s列目「%(label)s」（%(start)s〜%(end)s バイト目）が "
                              "%(other_index)s列目「%(other_label)s」"
                              "（%(other_start)s〜%(other_end)s バイト目）と重なっています")
                            % {"index": i2, "label": l2, "start": s2, "end": e2,
                               "other_index": i1, "other_label": l1, "other_start": s1, "other_end": e1})
    return problems


class RowBuilder:
    """Compiled per layout: raw values of one record → the staging tuple (or errors)."""

    def __init__(self, *, layout: object, target: Target, tenant: object, gaiji: dict[str, str]) -> None:
        self.layout, self.target, self.tenant = layout, target, tenant
        self.columns = target.columns
        index = {name: i for i, name in enumerate(self.columns)}
        self.template = [target.default_for(c) for c in self.columns]
        self.converter = GaijiConverter(gaiji)
        self.parse_date = make_date_parser(layout.date_formats or ["yyyymmdd"])
        self.op_codes = {str(k): OPS[v] for k, v in (layout.op_codes or {}).items() if v in OPS}
        self.delta = layout.mode == "delta"
        self.steps: list[tuple] = []  # fields with a converter
        self.plain: list[tuple] = []  # text fields: length check only
        self.personal_col: int | None = None
        self.op_index: int | None = None
        self.code_index: int | None = None
        self.details: list[tuple[int, str, str]] = []
        self.labels = [c.get("label") or c.get("field") for c in layout.columns]
        self.secret = {i for i, c in enumerate(layout.columns) if c.get("field") == "personal_no"}
        self.provided: set[str] = set()
        key_fields = set(target.key_columns)
        for i, column in enumerate(layout.columns):
            spec = target.field(column["field"])
            label = self.labels[i]
            if spec.kind == "ignore":
                continue
            if spec.kind == "op":
                self.op_index = i
                continue
            if spec.kind == "municipality_code":
                self.code_index = i
                continue
            if spec.name.startswith("details."):
                self.details.append((i, spec.name[8:], label))
                continue
            required = bool(column.get("required")) or spec.name in target.required
            conv = self._converter(spec)
            col = index.get(spec.column) if spec.column else None
            if spec.kind == "personal_no":
                col = self.personal_col = index["personal_no_encrypted"]
            step = (i, col, label, conv, required, spec.max_length, spec.name in key_fields)
            (self.plain if conv is None else self.steps).append(step)
            if spec.column:
                self.provided.add(spec.column)
        self.derive = DERIVERS.get(target.key.split(":")[0])
        if self.derive is not None:
            self.provided |= {c for c in target.extra_columns if self._derived_from(c)}
        self.details_col = index.get("details")
        self.idx = index

    def _derived_from(self, column: str) -> bool:
        sources = {"search_name": "name", "search_kana": "name_kana", "search_address": "address",
                   "personal_no_encrypted": "personal_no", "personal_no_hash": "personal_no"}
        source = sources.get(column)
        return source is not None and any(c["field"] == source for c in self.layout.columns)

    def _converter(self, spec: object) -> Callable[[str], object] | None:
        kind = spec.kind
        table = (self.layout.code_tables or {}).get(spec.code_table) if spec.code_table else None
        if kind == "date":
            return self.parse_date
        if kind == "atena":
            good: set[str] = set()  # 世帯番号 repeat for every member: check each value once

            def _atena(raw: str) -> str:
                if raw in good:
                    return raw
                if not raw.isascii() or not raw.isdigit():
                    raise ValueError(_("「%(value)s」は数字ではありません") % {"value": raw})
                if len(raw) > spec.max_length:
                    raise ValueError(_("%(digits)s桁を超えています") % {"digits": spec.max_length})
                if not is_valid_atena_no(raw):
                    raise ValueError(_("「%(value)s」のチェックデジットが正しくありません") % {"value": raw})
                if spec.name != "atena_no" and len(good) < 500_000:
                    good.add(raw)
                return raw

            def _atena_batch(values: list[str] | tuple[str, ...]) -> list[str] | tuple[str, ...]:
                joined = "".join(values)
                if not (joined.isascii() and joined.isdigit()) or max(map(len, values)) > spec.max_length or (
                        not all_valid_atena_digits(values if spec.name == "atena_no"
                                                   else list(set(values).difference(good)))):
                    return list(map(_atena, values))  # raises for the first bad value
                if spec.name != "atena_no" and len(good) < 500_000:
                    good.update(values)
                return values
            _atena.batch = _atena_batch
            return _atena
        if kind == "digits":
            def _digits(raw: str) -> str:
                if not raw.isascii() or not raw.isdigit():
                    raise ValueError(_("「%(value)s」は数字ではありません") % {"value": raw})
                if spec.exact_length and len(raw) != spec.exact_length:
                    raise ValueError(_("%(digits)s桁ではありません（%(actual)s桁）")
                                     % {"digits": spec.exact_length, "actual": len(raw)})
                if spec.max_length and len(raw) > spec.max_length:
                    raise ValueError(_("%(digits)s桁を超えています") % {"digits": spec.max_length})
                return raw

            def _digits_batch(values: list[str] | tuple[str, ...]) -> list[str] | tuple[str, ...]:
                joined = "".join(values)
                lengths = set(map(len, values))
                if not (joined.isascii() and joined.isdigit()) or (
                        spec.exact_length and lengths != {spec.exact_length}) or (
                        spec.max_length and max(lengths) > spec.max_length):
                    return list(map(_digits, values))  # raises for the first bad value
                return values
            _digits.batch = _digits_batch
            return _digits
        if kind == "code":
            if table:
                mapping = {str(k): v for k, v in table.items()}

                def _code(raw: str) -> str:
                    try:
                        return mapping[raw]
                    except KeyError:
                        raise ValueError(_("コード「%(value)s」はコード表（%(table)s）にありません")
                                         % {"value": raw, "table": spec.code_table}) from None

                def _code_batch(values: list[str] | tuple[str, ...]) -> list[str]:
                    try:
                        return list(map(mapping.__getitem__, values))
                    except KeyError:
                        return list(map(_code, values))  # raises for the first bad value
                _code.batch = _code_batch
                return _code
            if spec.choices:
                choices = set(spec.choices)

                def _choice(raw: str) -> str:
                    if raw not in choices:
                        raise ValueError(_("値「%(value)s」は使用できません（%(choices)s）")
                                         % {"value": raw, "choices": ", ".join(spec.choices)})
                    return raw
                _choice.batch = lambda values: values if choices.issuperset(values) else list(map(_choice, values))
                return _choice
            if spec.name == "relationship":
                known: set[str] = set()  # 続柄 checked already (a handful of distinct values)

                def _relationship(raw: str) -> str:
                    if raw not in known:
                        if not is_valid_relationship(raw):
                            raise ValueError(_("続柄「%(value)s」は住民記録の続柄として使用できません")
                                             % {"value": raw})
                        if len(known) < 10_000:
                            known.add(raw)
                    return raw
                _relationship.batch = lambda values: values if known.issuperset(values) else list(
                    map(_relationship, values))
                return _relationship
            return None
        if kind == "bool":
            def _bool(raw: str) -> bool:
                value = raw.lower()
                if value in TRUE_VALUES:
                    return True
                if value in FALSE_VALUES:
                    return False
                raise ValueError(_("値「%(value)s」は 1（はい）/ 0（いいえ）のいずれでもありません") % {"value": raw})
            return _bool
        if kind == "personal_no":
            from audit.services import is_personal_number
            from tenants.crypto import encrypt, lookup_hash
            tenant = self.tenant

            def _personal(raw: str) -> tuple[bytes, str]:
                if not is_personal_number(raw):
                    raise ValueError(_("個人番号の形式またはチェックデジットが正しくありません"))
                return (encrypt(tenant, raw, purpose="personal_no"), lookup_hash(tenant, raw, purpose="personal_no"))
            return _personal
        return None

    def build(self, line: int, values: list[str]) -> tuple[tuple | None, list[dict]]:
        errors: list[dict] = []
        out = self.template.copy()
        if PUA_RE.search("".join(values)):
            values = list(values)
            for i, value in enumerate(values):
                converted, unknown = self.converter.convert(value)
                values[i] = converted
                for ch in unknown:
                    if i in self.secret:  # never a 個人番号
                        message = _("外字 %(code)s は外字変換表にありません") % {"code": describe_code(ch)}
                    else:
                        message = (_("外字 %(code)s は外字変換表にありません（「%(value)s」）")
                                   % {"code": describe_code(ch), "value": value.strip(STRIP)})
                    errors.append(error(line, self.labels[i], message))
        op = "A"
        if self.code_index is not None:
            code = values[self.code_index].strip(STRIP)
            if code != self.tenant.code:
                raise FileRejected(
                    _("全国地方公共団体コード「%(code)s」は取込先（%(name)s %(tenant_code)s）と一致しません。"
                      "他の自治体のファイルは取り込めません")
                    % {"code": code, "name": self.tenant.name, "tenant_code": self.tenant.code},
                    line=line, column=self.labels[self.code_index])
        if self.op_index is not None:
            raw_op = values[self.op_index].strip(STRIP)
            op = self.op_codes.get(raw_op, "")
            if not op:
                errors.append(error(line, self.labels[self.op_index],
                                    _("処理区分「%(value)s」は使用できません（%(codes)s）")
                                    % {"value": raw_op, "codes": ", ".join(self.op_codes)}))
                op = "A"
        deleting = op == "D"
        personal = None
        vals = [v.strip(STRIP) for v in values]
        for i, col, label, _conv, required, max_length, is_key in self.plain:
            raw = vals[i]
            if not raw:
                if required and (is_key or not deleting):
                    errors.append(error(line, label, _("必須項目が空です")))
            elif max_length and len(raw) > max_length:
                errors.append(error(line, label, _("%(max)s文字を超えています（%(length)s文字）")
                                    % {"max": max_length, "length": len(raw)}))
            else:
                out[col] = raw
        for i, col, label, conv, required, _max_length, is_key in self.steps:
            raw = vals[i]
            if not raw:
                if required and (is_key or not deleting):
                    errors.append(error(line, label, _("必須項目が空です")))
                continue
            try:
                value = conv(raw)
            except ValueError as exc:
                errors.append(error(line, label, str(exc)))
                continue
            if isinstance(value, tuple):
                personal = value
            else:
                out[col] = value
        if self.details:
            extra = {name: vals[i] for i, name, _label in self.details if vals[i]}
            out[self.details_col] = json.dumps(extra, ensure_ascii=False)
        elif self.details_col is not None:
            out[self.details_col] = "{}"
        if self.derive is not None and not deleting:
            self.derive(self, out, personal, line, errors)
        if errors:
            return None, errors
        return (line, op, *out), errors


    # -- the fast path: a batch of records, column by column --------------------------------------
    def prepare_fast_path(self) -> None:
        """Per staging column: how its values become COPY text (text columns are joined as they are)."""
        kinds = []
        for name in self.columns:
            model_field = self.target.model._meta.get_field(name)
            internal = model_field.get_internal_type()
            kinds.append("text" if internal in ("CharField", "TextField") else
                         "json" if internal == "JSONField" else "date" if internal == "DateField" else "other")
        self.column_kinds = kinds
        self.const_text = [_copy_value(v) for v in self.template]
        self.date_text: dict[str, str] = {"": "\\N"}  # date as written → ISO text (only dates that parsed)
        self.date_text_required: dict[str, str] = {}  # the same without the empty value

    def build_batch(self, lines: list[int], rows: list[list[str]] | None,
                    columns: list[tuple[str, ...]] | None = None) -> str | None:
        """COPY text for a batch of records (given as rows, or as columns), or None if any record needs the
        row-by-row path (errors, 外字, deletes, another municipality): that path then finds and reports every
        problem precisely."""
        if columns is None:
            columns = list(zip(*rows, strict=True))
        count = len(lines)
        ops = None
        if self.code_index is not None and set(columns[self.code_index]) != {self.tenant.code}:
            return None
        if self.op_index is not None:
            try:
                ops = list(map(self.op_codes.__getitem__, map(str.strip, columns[self.op_index], repeat(STRIP))))
            except KeyError:
                return None
            if "D" in ops:
                return None
        out: list[list | None] = [None] * len(self.columns)
        table = self.converter.table
        no_escapes = set()  # text columns whose values need no COPY escaping
        for i, col, _label, _conv, required, max_length, _is_key in self.plain:
            values, joined = _stripped(columns[i])
            found = PUA_RE.search(joined)
            if found:  # 外字: convert the values that have one; an unknown one → row path
                if not table:
                    return None
                values = list(values)
                for position in {joined.count("\x1f", 0, m.start()) for m in PUA_RE.finditer(joined, found.start())}:
                    values[position] = values[position].translate(table)
                    if PUA_RE.search(values[position]):
                        return None
            if not (found or "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined):
                no_escapes.add(col)
            if required and "" in values:
                return None
            if max_length and max(map(len, values)) > max_length:
                return None
            if not required and "" in values and self.template[col] != "":
                values = [v or self.template[col] for v in values]
            out[col] = values
        rendered = set()  # positions whose values are COPY text already
        for i, col, _label, conv, required, _max_length, _is_key in self.steps:
            values, _joined = _stripped(columns[i])
            if conv is self.parse_date:  # dates repeat: each distinct text is parsed once, straight to COPY text
                if required and "" in values:
                    return None
                # an empty date is the column's default (only nullable dates are optional)
                texts = list(map((self.date_text if self.template[col] is None else self.date_text_required).get,
                                 values))
                if None in texts:
                    for n, value in enumerate(values):
                        if texts[n] is None:
                            if not value:
                                if required:
                                    return None
                                texts[n] = self.const_text[col]
                                continue
                            try:
                                texts[n] = conv(value).isoformat()
                            except ValueError:
                                return None
                            if len(self.date_text) < 200_000:
                                self.date_text[value] = self.date_text_required[value] = texts[n]
                out[col] = texts
                rendered.add(col)
                continue
            if "" in values:
                if required:
                    return None
                default = self.template[col]
                try:
                    out[col] = [conv(v) if v else default for v in values]
                except ValueError:
                    return None
            else:
                try:
                    batch = getattr(conv, "batch", None)
                    out[col] = batch(values) if batch is not None else list(map(conv, values))
                except ValueError:
                    return None
            if col == self.personal_col and any(out[col]):
                return None  # 個人番号: encrypted (and hashed) per row on the row path
        if self.details:
            if any(PUA_RE.search("\x1f".join(columns[i])) for i, _name, _label in self.details):
                return None
            if self.details_col is not None:
                out[self.details_col] = [
                    json.dumps({name: values[i].strip(STRIP) for i, name, _l in self.details
                                if values[i].strip(STRIP)}, ensure_ascii=False)
                    for values in (rows if rows is not None else zip(*columns, strict=True))]
        elif self.details_col is not None:
            out[self.details_col] = ["{}"] * count
        if self.derive is _derive_resident:
            idx = self.idx
            names, kanas = out[idx["name"]], out[idx["name_kana"]] or [""] * count
            addresses = out[idx["address"]] or [""] * count
            katagaki = out[idx["address_katagaki"]] or [""] * count
            out[idx["search_name"]] = _search_name.batch(names)
            out[idx["search_kana"]] = _search_kana.batch(kanas)
            out[idx["search_address"]] = _search_address.batch(list(map(str.__add__, addresses, katagaki)))
        elif self.derive is _derive_period:  # ISO dates (or \\N) as COPY text compare like the dates
            starts, ends = out[self.idx["start_date"]], out[self.idx["end_date"]]
            if starts is not None and ends is not None and any(
                    e != "\\N" and s != "\\N" and e < s for s, e in zip(starts, ends, strict=True)):
                return None
        text_columns = [list(map(str, lines)), ops or ["A"] * count]
        for position, values in enumerate(out):
            if values is None:
                text_columns.append(repeat(self.const_text[position], count))
            elif position in rendered:
                text_columns.append(values)
            elif position in no_escapes:
                text_columns.append(values)
            elif self.column_kinds[position] == "text":
                joined = "\x1f".join(values)
                if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
                    values = list(map(_escape, values))
                text_columns.append(values)
            elif self.column_kinds[position] == "json":
                text_columns.append(list(map(_escape, values)))
            elif self.column_kinds[position] == "date":
                text_columns.append(["\\N" if d is None else d.isoformat() for d in values])
            else:
                text_columns.append(list(map(_copy_value, values)))
        return "\n".join(map("\t".join, zip(*text_columns, strict=True))) + "\n"

    def row_text(self, row: tuple) -> str:
        """COPY text of one staged tuple from the row path."""
        return "\t".join(_copy_value(v) for v in row) + "\n"


def _stripped(values: tuple[str, ...] | list[str]) -> tuple[list[str] | tuple[str, ...], str]:
    """The values without STRIP at either end (the same sequence if none has any: no copies), and the
    values joined by \x1f (for the checks that look at a whole column at once)."""
    joined = "\x1f".join(values)
    if joined[:1] in STRIP_SET or joined[-1:] in STRIP_SET or any(edge in joined for edge in _EDGES):
        values = list(map(str.strip, values, repeat(STRIP)))
        joined = "\x1f".join(values)
    return values, joined


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_value(value: object) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, bytes | memoryview):
        return "\\\\x" + bytes(value).hex()
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, int):
        return str(value)
    return _escape(value.isoformat() if hasattr(value, "isoformat") else str(value))


def _memoised(
    normalise: Callable[[str], str], *, width: int, cache: dict[str, str], limit: int = 200_000
) -> Callable[[str], str]:
    """Normalise each distinct value once (household members share addresses, surnames repeat)."""

    def _cached(text: str) -> str:
        hit = cache.get(text)
        if hit is None:
            if len(cache) > limit:
                cache.clear()
            hit = cache[text] = normalise(text)[:width]
        return hit

    def _batch(texts: object) -> list[str]:
        hits = list(map(cache.get, texts))
        if None in hits:
            hits = list(map(_cached, texts if isinstance(texts, list | tuple) else list(texts)))
        return hits

    _cached.batch = _batch
    return _cached


_ADDRESS_CACHE: dict[str, str] = {}
_NAME_CACHE: dict[str, str] = {}
_KANA_CACHE: dict[str, str] = {}
_search_name = _memoised(normalize.normalize_name, width=200, cache=_NAME_CACHE)
_search_kana = _memoised(normalize.normalize_kana, width=200, cache=_KANA_CACHE)
_search_address = _memoised(normalize.normalize_address, width=400, cache=_ADDRESS_CACHE)


def clear_normalisation_caches() -> None:
    for cache in (_ADDRESS_CACHE, _NAME_CACHE, _KANA_CACHE):
        cache.clear()


def _derive_resident(builder: RowBuilder, out: list, personal: tuple | None, line: int, errors: list) -> None:
    idx = builder.idx
    out[idx["search_name"]] = _search_name(out[idx["name"]])
    out[idx["search_kana"]] = _search_kana(out[idx["name_kana"]])
    address = out[idx["address"]]
    katagaki = out[idx["address_katagaki"]]
    out[idx["search_address"]] = _search_address(f"{address}{katagaki}" if katagaki else address)
    if personal is not None:
        out[idx["personal_no_encrypted"]], out[idx["personal_no_hash"]] = personal


def _derive_period(builder: RowBuilder, out: list, personal: tuple | None, line: int, errors: list) -> None:
    idx = builder.idx
    start, end = out[idx["start_date"]], out[idx["end_date"]]
    if start is not None and end is not None and end < start:
        label = next((c.get("label") for c in builder.layout.columns if c["field"] == "end_date"), _("終了日"))
        errors.append(error(line, label, _("終了日（%(end)s）が開始日（%(start)s）より前です")
                            % {"end": f"{end:%Y-%m-%d}", "start": f"{start:%Y-%m-%d}"}))


DERIVERS = {"residents": _derive_resident, "eligibility": _derive_period, "support_measures": _derive_period}


def _feed(state: object, records: Iterator, fill: int, write: Callable[[str], object]) -> Iterator[int]:
    """Records → builder in batches of BATCH records with values (the first batch ``BATCH - fill``); COPY text
    goes to ``write``, errors to ``state.add_error``. Yields the size of each batch flushed; a FileRejected
    (from the parser or the builder) propagates, with the errors before it already added."""
    builder = state.builder
    lines: list[int] = []
    rows: list[list[str]] = []
    limit = BATCH - fill
    for record in records:
        state.rows += 1
        if record.values is None:
            for item in record.errors:
                state.add_error(item)
            continue
        state.good += 1
        lines.append(record.line)
        rows.append(record.values)
        if len(rows) >= limit:
            _flush(state, builder, write, lines, rows)
            yield len(rows)
            lines, rows, limit = [], [], BATCH
    if rows:
        _flush(state, builder, write, lines, rows)
        yield len(rows)


def _flush(state: object, builder: RowBuilder, write: Callable[[str], object], lines: list[int],
           rows: list[list[str]]) -> None:
    text = builder.build_batch(lines, rows)
    if text is not None:
        write(text)
        state.staged += len(rows)
        return
    parts = []
    for line, values in zip(lines, rows, strict=True):  # the row path: precise errors
        row, errors = builder.build(line, values)
        if errors:
            for item in errors:
                state.add_error(item)
            continue
        parts.append(builder.row_text(row))
        state.staged += 1
    if parts:
        write("".join(parts))


class _PartHasErrors(Exception):
    pass


class _PartState:
    """Counts of one part of the file in a worker process. A part with an error is given up at once: the
    one-process path does it again, so that errors come in exactly its order."""

    def __init__(self, builder: RowBuilder) -> None:
        self.builder = builder
        self.rows = self.staged = self.good = 0

    def add_error(self, item: dict) -> None:
        raise _PartHasErrors


_WORKER_BUILDER: RowBuilder | None = None  # set while the pool forks; the workers inherit it


def _stage_part(part: bytes, start_line: int, header_pending: bool) -> tuple:
    """In a worker: one part of the file (whole lines) → counts and its COPY text (UTF-8), or None if the
    part has an error or rejects the file (the one-process path then takes over from this part)."""
    gc.disable()  # millions of short-lived lists and no cycles: the collector's passes are pure cost here
    try:
        return _stage_part_now(part, start_line, header_pending)
    finally:
        gc.enable()


def _stage_part_now(part: bytes, start_line: int, header_pending: bool) -> tuple | None:
    builder = _WORKER_BUILDER
    state = _PartState(builder)
    parser = parser_for(builder.layout)
    if not header_pending:
        batches = parser.fast_batches(part, start_line, BATCH)
        if batches is not None:  # plain lines: split (or sliced) a batch at a time, no per-record parsing
            outcome = _stage_batches(builder, batches)
            if outcome is not None:
                return outcome
    chunks: list[str] = []
    try:
        for _count in _feed(state, parser.records(io.BytesIO(part), start_line=start_line,
                                                  header_pending=header_pending), 0, chunks.append):
            pass
    except (FileRejected, _PartHasErrors):
        return None
    return state.rows, state.staged, state.good, "".join(chunks).encode(), parser.header_pending


def _stage_batches(builder: RowBuilder, batches: Iterator) -> tuple | None:
    """A plain part, batch by batch like ``_feed`` (a batch the fast builder cannot take goes row by row;
    an error, or a line that is not a plain record, gives the part up, as in ``_stage_part``)."""
    state = _PartState(builder)
    chunks: list[str] = []
    try:
        for lines, rows, columns in batches:
            state.rows += len(lines)
            state.good += len(lines)
            text = builder.build_batch(lines, rows, columns)
            if text is None:
                _flush(state, builder, chunks.append, lines,
                       rows if rows is not None else [list(row) for row in zip(*columns, strict=True)])
            else:
                chunks.append(text)
                state.staged += len(lines)
    except (_PartHasErrors, NotPlain):
        return None
    return state.rows, state.staged, state.good, "".join(chunks).encode(), False


def _parallel_worth(stream: BinaryIO) -> bool:
    """Worker processes pay off for big files read from the start of a seekable stream."""
    if WORKERS < 2:
        return False
    try:
        if not stream.seekable() or stream.tell() != 0:
            return False
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
    except (OSError, AttributeError, ValueError):
        return False
    return size >= PARALLEL_MIN_BYTES


class Importer:
    """One file through validate → stage → check → apply. Errors are collected, capped at MAX_ERRORS."""

    def __init__(self, *, layout: object, tenant: object, gaiji: dict[str, str],
                 progress: Callable[[str, int], None] | None = None, load_key: str | None = None) -> None:
        problems = layout_problems(layout)
        if problems:
            raise LayoutInvalid(problems)
        self.layout, self.tenant = layout, tenant
        self.target = target_for(layout.target)
        self.builder = RowBuilder(layout=layout, target=self.target, tenant=tenant, gaiji=gaiji)
        self.progress = progress or (lambda phase, n: None)
        self.errors: list[dict] = []
        self.error_count = 0
        self.rows = 0
        self.staged = 0
        self.good = 0  # records with values (batches of BATCH of them go to the builder)
        self.timings: dict[str, float] = {}
        self.stage_table = f"linkage_stage_{id(self):x}"
        self.load_key = load_key  # run id: names the load tables of a bulk replacement
        self.loaded = False  # staged into a committed load table (may be swapped in) instead of a temp table
        self.swap: list[bulkswap.TableCopy] = []
        self.swap_counts: dict[str, int] = {}
        self.load_tables: list[str] = []
        self.planned: tuple[int, int] | None = None  # (rows to write, rows there) if prepare_apply counted them
        self.changes_table: str | None = None  # line numbers of the staged rows that differ (prepare_apply)
        self.touched_table: str | None = None  # 世帯番号 whose residents were written (with changes_table)

    def add_error(self, item: dict) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(item)

    # -- phase 1: parse, validate, stage ----------------------------------------------------------
    def validate_and_stage(self, stream: BinaryIO) -> None:
        started = time.perf_counter()
        self._check_encoding(stream)
        columns = ["line_no", "op", *self.target.columns]
        if self._swap_candidate(stream):
            self.loaded = True
            self.stage_table = bulkswap.load_name(self.load_key, self.target.table)
            self.load_tables.append(self.stage_table)
            bulkswap.create_load_table(live=self.target.table, load=self.stage_table, staging=True)
        else:
            with connection.cursor() as cursor:  # sets the tenant's search_path on the session
                cursor.execute(
                    f'CREATE TEMP TABLE "{self.stage_table}" AS SELECT {", ".join(self.target.columns)} '
                    f'FROM "{self.target.table}" WITH NO DATA'
                )
                cursor.execute(f'ALTER TABLE "{self.stage_table}" ADD COLUMN line_no integer, ADD COLUMN op text')
        raw = connection.connection.cursor()
        copy_sql = f'COPY "{self.stage_table}" ({", ".join(columns)}) FROM STDIN'
        self.builder.prepare_fast_path()
        try:
            resume = self._stage_parallel(stream, raw, copy_sql) if _parallel_worth(stream) else (None, 0, None)
            if resume is not None:
                self._stage_sequential(stream, raw, copy_sql, *resume)
        finally:
            raw.close()
        self.timings["validate_stage"] = round(time.perf_counter() - started, 3)

    def _check_encoding(self, stream: BinaryIO) -> None:
        """A UTF-8 file sent to a layout of another encoding is rejected before any record is read."""
        if self.layout.encoding.startswith("utf-8"):
            return
        try:
            if not stream.seekable() or stream.tell() != 0:
                return
            head = stream.read(SNIFF_BYTES)
            stream.seek(0)
        except (OSError, AttributeError, ValueError):
            return
        rejected = utf8_instead(head, self.layout.encoding)
        if rejected is not None:
            raise rejected

    def _swap_candidate(self, stream: BinaryIO) -> bool:
        """A big full snapshot of a swappable target, outside any transaction (the load table must be
        committed for the index builds on other connections)."""
        if (self.load_key is None or self.layout.mode != "full" or self.target.key not in SWAP_TARGETS
                or self.target.scope_column or connection.in_atomic_block):
            return False
        try:
            size = stream.seek(0, io.SEEK_END)
            stream.seek(0)
        except (OSError, AttributeError, ValueError):
            return False
        return size >= SWAP_MIN_BYTES and bulkswap.can_swap(self.target.table)

    def _stage_sequential(self, stream: BinaryIO, raw: object, copy_sql: str, offset: int | None,
                          start_line: int, header_pending: bool | None) -> None:
        """Stream the file (from ``offset``, a line boundary, if given) through the builder in this process."""
        if offset is not None:
            stream.seek(offset)
        records = parser_for(self.layout).records(stream, start_line=start_line, header_pending=header_pending)
        sink: list = [None]
        # Batches continue the alignment of the records already staged (counts at a rejection stay the same).
        feed = _feed(self, records, self.good % BATCH, lambda text: sink[0].write(text))
        rejected: FileRejected | None = None
        done = False
        while not done:
            since_progress = 0
            # Errors must not escape the COPY block: a failed COPY would abort the caller's transaction.
            with raw.copy(copy_sql) as copy:
                sink[0] = copy
                try:
                    for count in feed:
                        since_progress += count
                        if since_progress >= PROGRESS_EVERY:
                            break
                    else:
                        done = True
                except FileRejected as exc:
                    rejected, done = exc, True
            self.progress("validated", self.rows)
        if rejected is not None:
            raise rejected

    def _stage_parallel(self, stream: BinaryIO, raw: object, copy_sql: str) -> tuple | None:
        """Validate parts of the file in worker processes; stage their COPY text here, in file order.

        The file is cut at line breaks into parts of about CHUNK_BYTES; a worker runs the very same parser
        and builder on its part, so rows and COPY text are those of the sequential path. From the first part
        that has an error or cannot be validated on its own (a CSV part with a quote character — a quoted
        field may span lines —, no line break for long, a header not yet seen, a rejected file) the rest of
        the file goes through the sequential path (with the same batch alignment), so errors, their order
        and the counts at a rejection are exactly the sequential ones: the returned (offset, line, header).
        """
        global _WORKER_BUILDER
        _WORKER_BUILDER = self.builder
        try:
            pool = multiprocessing.get_context("fork").Pool(WORKERS)
        except (OSError, ValueError, AssertionError):  # e.g. not allowed to fork here: one process
            return None, 0, None
        finally:
            _WORKER_BUILDER = None
        is_csv = self.layout.format == "csv"
        header = bool(self.layout.has_header)
        pending: deque = deque()  # (offset, first line, header pending, async result)
        offset = line = 0
        rest = b""
        eof = False
        since_progress = 0
        try:
            while True:
                while not eof and len(pending) < IN_FLIGHT:
                    block = stream.read(CHUNK_BYTES)
                    if not block:
                        eof = True
                        part, rest = rest, b""
                    else:
                        data = rest + block if rest else block
                        cut = data.rfind(b"\n") + 1
                        if not cut:
                            if len(data) > 2 * CHUNK_BYTES:  # no line break for long: sequential from here
                                eof, rest = True, b""
                                pending.append((offset, line, header if offset == 0 else False, None))
                            else:
                                rest = data
                            continue
                        part, rest = data[:cut], data[cut:]
                    if not part:
                        break
                    part_header = header if offset == 0 else False
                    if is_csv and b'"' in part:  # quoted fields may span lines: sequential from here
                        eof, rest = True, b""
                        pending.append((offset, line, part_header, None))
                        break
                    pending.append((offset, line, part_header,
                                    pool.apply_async(_stage_part, (part, line, part_header))))
                    offset += len(part)
                    line += part.count(b"\n") + part.count(b"\r") - part.count(b"\r\n")
                if not pending:
                    return None
                part_offset, part_line, part_header, result = pending.popleft()
                if result is None:
                    return part_offset, part_line, part_header
                outcome = result.get()
                if outcome is None:  # errors: the one-process path reports them, in its order, from here
                    return part_offset, part_line, part_header
                rows, staged, good, text, header_left = outcome
                self.rows += rows
                self.staged += staged
                self.good += good
                if text:
                    with raw.copy(copy_sql) as copy:
                        copy.write(text)
                since_progress += rows
                if since_progress >= PROGRESS_EVERY:
                    self.progress("validated", self.rows)
                    since_progress = 0
                if header_left and part_header:  # only blank lines so far: the header is still to come
                    return (pending[0][0], pending[0][1], True) if pending else None
        finally:
            # Let the parts already handed out finish before closing: terminating a worker while it reads a
            # part from the pipe leaves the queue's lock taken and Pool.terminate() waiting for ever.
            handed_out = [result for *_part, result in pending if result is not None]
            for result in handed_out:
                result.wait(60)
            if all(result.ready() for result in handed_out):
                pool.close()
            else:
                pool.terminate()
            pool.join()
            if since_progress:
                self.progress("validated", self.rows)

    # -- phase 2: cross-row checks in SQL ---------------------------------------------------------
    def check_staged(self) -> None:
        started = time.perf_counter()
        if self.rows == 0 or (self.staged == 0 and self.error_count == 0):
            self.add_error(error(0, "", _("データ行がありません（空のファイルです）")))
            return
        keys = self.target.key_columns
        labels = [self.target.field(k).label for k in keys]
        with connection.cursor() as cursor:
            if not self.loaded:  # a load table is checked by prepare_apply (its unique index, when swapped)
                self._check_duplicates(cursor)
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
        self.timings["check"] = round(time.perf_counter() - started, 3)

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

    # -- phase 3a: a bulk replacement is prepared outside the transaction ------------------------
    def prepare_apply(self) -> None:
        """If the rows were staged in a load table and they rewrite most of the mirror, finish the load
        table (its indexes, the derived 世帯 table) on several connections; ``apply`` then swaps it in.
        Otherwise the load table is just the staging table of the usual apply."""
        if not self.loaded:
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
        if self.swap:
            return self._apply_swap()
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
            if target.scope_column:
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
            elif self.layout.mode == "full":
                cursor.execute(
                    f'DELETE FROM "{target.table}" t WHERE NOT EXISTS '
                    f'(SELECT 1 FROM "{stage}" s WHERE {match}){scope_sql}', scope_params)
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
            mark = lap("apply_upsert", mark)
            if rebuild:
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
                cursor.execute(f"SELECT {privileged.P}.indexes_restore(%s, %s)", [connection.schema_name, target.table])
                mark = lap("apply_reindex", mark)
            touched = counts["added"] or counts["changed"] or counts["deleted"]
            if target.key == "residents" and touched and (self.layout.options or {}).get("derive_households", True):
                self._derive_households(cursor)
                mark = lap("apply_households", mark)
        self.timings.update(timings)
        counts["unchanged"] = max(0, self.staged - counts["added"] - counts["changed"] - (
            counts["deleted"] if self.layout.mode == "delta" else 0))
        self.timings["apply"] = round(time.perf_counter() - started, 3)
        return counts

    def _apply_swap(self) -> dict[str, int]:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                           [f"linkage:{connection.schema_name}:{self.target.table}"])
        bulkswap.swap_in(self.swap)  # staging columns go (metadata only), as does COPY's default
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


def _key_text(labels: list[str], values: list[object]) -> str:
    """A key for a message: 宛名番号「123」・種別「dv」 (labels of the key fields with the values)."""
    return pgettext("separator", "・").join(_("%(label)s「%(value)s」") % {"label": label, "value": value}
                                           for label, value in zip(labels, values, strict=True))


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

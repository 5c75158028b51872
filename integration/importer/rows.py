"""Row building: the raw values of one record (or a batch of records, column by column) → staging rows as
COPY text, with every per-field check, the 外字 conversion and the derived search columns."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import repeat

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from integration import normalize
from integration.checkdigits import all_valid_atena_digits, is_valid_atena_no
from integration.dates import make_date_parser
from integration.gaiji import PUA_RE, GaijiConverter, describe_code
from integration.importer.layout import OPS
from integration.parsers import FileRejected, error
from integration.targets import Target, is_valid_relationship

STRIP = " \u3000\t"
# A value of a batch column (values joined by \x1f) that starts or ends with what STRIP removes
# (substring tests: several times faster than one regular expression over the column).
STRIP_SET = frozenset(STRIP)
_EDGES = tuple(edge for char in STRIP for edge in ("\x1f" + char, char + "\x1f"))
# A text value starting with one of these is a spreadsheet formula when the file is opened in Excel: refused
# in every text column unless the layout allows it for that column ("allow_formula": true). Checked on the value
# with only SPACES stripped (STRIP would remove a leading TAB); a CR inside a quoted CSV field reaches the value
# as LF (the reader splits lines at a lone CR), so LF counts too.
SPACES = STRIP.replace("\t", "")  # half- and full-width spaces
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# (one regular expression over a batch column: ten times faster than six substring searches in Japanese text)
_FORMULA_INSIDE = re.compile("\x1f[=+\\-@\t\r\n]")
# A batch column's values after STRIP lost a leading TAB: looked for in the values as read (only if a TAB is there).
_TAB_START = re.compile(f"(?:^|\x1f)[{SPACES}]*+\t")
# Character classes a layout column may require ("chars"): allowed characters as a regular-expression class.
HALFWIDTH = "\x20-\x7e\uff61-\uff9f"
CHAR_CLASSES = {
    "fullwidth": (re.compile("[^\x00-\x7f\uff61-\uff9f]*"), re.compile("(?:[^\x00-\x7f\uff61-\uff9f]|\x1f)*"),
                  _lazy("全角文字のみの項目に全角でない文字「%(char)s」があります")),
    "halfwidth": (re.compile(f"[{HALFWIDTH}]*"), re.compile(f"[{HALFWIDTH}\x1f]*"),
                  _lazy("半角文字のみの項目に半角でない文字「%(char)s」があります")),
    "digits": (re.compile("[0-9]*"), re.compile("[0-9\x1f]*"),
               _lazy("数字のみの項目に数字でない文字「%(char)s」があります")),
    "kana": (re.compile("[\u30a1-\u30f6\u30fc\u30fb\u3000]*"), re.compile("[\u30a1-\u30f6\u30fc\u30fb\u3000\x1f]*"),
             _lazy("カタカナのみの項目にカタカナでない文字「%(char)s」があります")),
}
TRUE_VALUES = {"1", "true", "t", "yes", "y", "有", "あり", "する", "○"}
FALSE_VALUES = {"0", "false", "f", "no", "n", "無", "なし", "しない"}


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
        self.type_index: int | None = None  # record kinds: the data record's record-type column and code
        self.type_code = str(((getattr(layout, "records", None) or {}).get("data") or {}).get("code") or "")
        self.file_kind: str | None = None  # full / delta as the file's header says (None: the layout's mode)
        self.rules: list[tuple[int, Callable[[str], str | None], Callable[[str], bool]]] = []
        # 支援措置 indicator of a resident record: (column, code table); the (宛名番号, kind) pairs it set.
        self.indicator: tuple[int, dict[str, str]] | None = None
        self.indicated: list[tuple[str, str]] = []
        self.none_values: dict[int, frozenset[str]] = {}
        key_fields = set(target.key_columns)
        for i, column in enumerate(layout.columns):
            spec = target.field(column["field"])
            label = self.labels[i]
            if spec.kind == "ignore":
                continue
            if spec.kind == "record_type":
                self.type_index = i
                continue
            if spec.kind == "support_indicator":
                table = (layout.code_tables or {}).get(spec.code_table) or {}
                self.indicator = (i, {str(k): v for k, v in table.items()})
                continue
            if column.get("none_values"):
                self.none_values[i] = frozenset(str(v) for v in column["none_values"])
            text = spec.kind == "str"
            if column.get("chars") in CHAR_CLASSES:
                self.rules.append((i, *_char_rule(column["chars"])))
            if text and not column.get("allow_formula"):
                self.rules.append((i, _formula_one, _formula_batch))
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
        # A multi-area file: the row's business area (業務区分) must be in the municipality's plan, else skipped.
        self.route_col = index.get(target.scope_column) if target.routed else None
        self.plan = frozenset(getattr(tenant, "areas", None) or ())
        # 住所 for search, without the municipality's own 都道府県+市区町村 (integration.normalize.local_address)
        self._search_address: Callable[[str], str] | None = None  # see search_address

    @property
    def search_address(self) -> Callable[[str], str]:
        """住所 for search, without the prefix recorded for this schema (integration.normalize.local_address).
        Read from the database once, before the validation processes fork (prepare_fast_path)."""
        if self._search_address is None:
            prefix = mirror_address_prefix(self.tenant) if self.derive is _derive_resident else ""
            self._search_address = _address_normaliser(prefix)
        return self._search_address

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
        if self.type_index is not None:
            code = values[self.type_index].strip(STRIP)
            if code != self.type_code:
                errors.append(error(line, self.labels[self.type_index], self._kind_message(code)))
                return None, errors
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
            if self.file_kind == "full":
                if raw_op:
                    errors.append(error(line, self.labels[self.op_index],
                                        _("ヘッダのファイル区分は全件ですが、%(label)s「%(value)s」があります。"
                                          "全件ファイルのレコードに%(label)sは書けません")
                                        % {"label": self.labels[self.op_index], "value": raw_op}))
                op = "A"
            else:
                op = self.op_codes.get(raw_op, "")
                if not op and not raw_op and self.file_kind == "delta":
                    errors.append(error(line, self.labels[self.op_index],
                                        _("ヘッダのファイル区分は差分ですが、%(label)sが空です")
                                        % {"label": self.labels[self.op_index]}))
                    op = "A"
                elif not op:
                    errors.append(error(line, self.labels[self.op_index],
                                        _("%(label)s「%(value)s」は使用できません（%(codes)s）")
                                        % {"label": self.labels[self.op_index], "value": raw_op,
                                           "codes": ", ".join(self.op_codes)}))
                    op = "A"
        deleting = op == "D"
        personal = None
        vals = [v.strip(STRIP) for v in values]
        for i, nones in self.none_values.items():
            if vals[i] in nones:
                vals[i] = ""
        for i, check, _batch in self.rules:
            if vals[i]:
                problem = check(values[i].strip(SPACES) if check is _formula_one else vals[i])
                if problem:
                    errors.append(error(line, self.labels[i], problem))
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
        if self.route_col is not None and out[self.route_col] not in self.plan:
            return None, errors  # an area outside the plan: skipped and counted, never stored
        if self.indicator is not None and not deleting:
            column, table = self.indicator
            code = vals[column]
            if code not in table:
                meanings = ", ".join(f"{k}={v or '-'}" for k, v in table.items())
                errors.append(error(line, self.labels[column], _("支援措置区分「%(value)s」はコード表（%(codes)s）に"
                                                                 "ありません") % {"value": code, "codes": meanings}))
                return None, errors
            if table[code]:
                self.indicated.append((out[self.idx["atena_no"]], table[code]))
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
        self.search_address  # noqa: B018 - the recorded prefix, read here: the validation processes inherit it

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
        if self.type_index is not None and set(map(str.strip, columns[self.type_index])) != {self.type_code}:
            return None
        if self.none_values:
            columns = list(columns)
            for i, nones in self.none_values.items():
                columns[i] = ["" if v.strip(STRIP) in nones else v for v in columns[i]]
        stripped: dict[int, tuple] = {}  # column → (values, joined): each column is joined once per batch
        for i, _check, batch_ok in self.rules:
            if batch_ok is _formula_batch:  # (STRIP removed a leading TAB: it is looked for in the values as read)
                raw = "\x1f".join(columns[i])
                stripped[i] = found = stripped.get(i) or _stripped(columns[i], raw)
                if not batch_ok(found[1]) or ("\t" in raw and _TAB_START.search(raw)):
                    return None
                continue
            stripped[i] = found = stripped.get(i) or _stripped(columns[i])
            if not batch_ok(found[1]):
                return None
        if self.op_index is not None and self.file_kind == "full":
            if any(map(str.strip, columns[self.op_index])):
                return None
        elif self.op_index is not None:
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
            values, joined = stripped.get(i) or _stripped(columns[i])
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
            values, _joined = stripped.get(i) or _stripped(columns[i])
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
            out[idx["search_address"]] = self.search_address.batch(list(map(str.__add__, addresses, katagaki)))
        elif self.derive is _derive_period:  # ISO dates (or \\N) as COPY text compare like the dates
            starts, ends = out[self.idx["start_date"]], out[self.idx["end_date"]]
            if starts is not None and ends is not None and any(
                    e != "\\N" and s != "\\N" and e < s for s, e in zip(starts, ends, strict=True)):
                return None
        if self.route_col is not None and not self.plan.issuperset(out[self.route_col] or ("",)):
            return None  # some rows of areas outside the plan: the row path skips and counts them
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
        if self.indicator is not None:
            column, table = self.indicator
            codes, _joined = _stripped(columns[column])
            if not set(codes) <= table.keys() or (ops is not None and "D" in ops):
                return None
            if any(map(table.get, codes)):
                self.indicated += [(atena, table[code]) for atena, code in zip(out[self.idx["atena_no"]], codes,
                                                                                 strict=True) if table[code]]
        return "\n".join(map("\t".join, zip(*text_columns, strict=True))) + "\n"

    def _kind_message(self, code: str) -> str:
        """A record whose record type is not the data record's, among the data records."""
        spec = getattr(self.layout, "records", None) or {}
        for kind, where in (("header", _("先頭")), ("trailer", _("最後"))):
            if str((spec.get(kind) or {}).get("code") or "\0") == code:
                from integration.importer.kinds import KIND_LABELS
                return (_("レコード区分「%(code)s」は%(kind)sです。%(kind)sはファイルの%(where)sの1件だけです")
                        % {"code": code, "kind": KIND_LABELS[kind], "where": where})
        known = ", ".join(f"{(spec.get(k) or {}).get('code')}" for k in ("header", "data", "trailer")
                          if (spec.get(k) or {}).get("code"))
        return _("レコード区分「%(code)s」はこのレイアウトにありません（%(known)s）") % {"code": code, "known": known}

    def row_text(self, row: tuple) -> str:
        """COPY text of one staged tuple from the row path."""
        return "\t".join(_copy_value(v) for v in row) + "\n"


def _formula_one(value: str) -> str | None:
    """The message if a value (only SPACES stripped) starts like a formula."""
    if value.startswith(FORMULA_START):
        shown = {"\t": "TAB", "\r": "CR", "\n": "CR/LF"}.get(value[0], value[0])
        return (_("先頭が「%(char)s」の値は取り込めません（表計算ソフトで数式として扱われるおそれがあります）")
                % {"char": shown})
    return None


def _formula_batch(joined: str) -> bool:
    """True if no value of a batch column (after STRIP, joined by \x1f) starts like a formula (a TAB that STRIP
    removed is looked for by ``build_batch`` in the values as read)."""
    return not (joined.startswith(FORMULA_START) or _FORMULA_INSIDE.search(joined))


def _char_rule(name: str) -> tuple[Callable[[str], str | None], Callable[[str], bool]]:
    one, batch, message = CHAR_CLASSES[name]

    def check(value: str) -> str | None:
        if one.fullmatch(value):
            return None
        bad = next(ch for ch in value if not one.fullmatch(ch))
        return str(message) % {"char": bad}

    return check, lambda joined: batch.fullmatch(joined) is not None


def _stripped(values: tuple[str, ...] | list[str], joined: str | None = None
              ) -> tuple[list[str] | tuple[str, ...], str]:
    """The values without STRIP at either end (the same sequence if none has any: no copies), and the
    values joined by \x1f (for the checks that look at a whole column at once); ``joined``: the values as
    read, joined already."""
    joined = "\x1f".join(values) if joined is None else joined
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


_ADDRESS_CACHES: dict[str, dict[str, str]] = {}  # per municipality prefix
_NAME_CACHE: dict[str, str] = {}
_KANA_CACHE: dict[str, str] = {}
_search_name = _memoised(normalize.normalize_name, width=200, cache=_NAME_CACHE)
_search_kana = _memoised(normalize.normalize_kana, width=200, cache=_KANA_CACHE)


def _address_normaliser(prefix: str) -> Callable[[str], str]:
    """住所+方書 → the stored search text: normalised, cut to the column's 400 characters, then without the
    municipality's prefix (cut first: the text stands for exactly what the whole normalised address held)."""
    def normalise(text: str) -> str:
        return normalize.local_address(normalize.normalize_address(text)[:400], prefix)
    return _memoised(normalise, width=400, cache=_ADDRESS_CACHES.setdefault(prefix, {}))


def mirror_address_prefix(tenant: object) -> str:
    """The prefix this schema's stored search addresses leave out: set from the municipality's 都道府県+名称 by
    the first import, then kept (``manage.py linkage_search_address`` changes it together with every row)."""
    from integration.models import AddressSearchPrefix

    if getattr(tenant, "pk", None) is None:  # not a municipality's record (a stand-in): addresses stay whole
        return ""
    row, _created = AddressSearchPrefix.objects.get_or_create(
        pk=1, defaults={"prefix": normalize.municipality_prefix(tenant)})
    return row.prefix


def clear_normalisation_caches() -> None:
    for cache in (*_ADDRESS_CACHES.values(), _NAME_CACHE, _KANA_CACHE):
        cache.clear()


def _derive_resident(builder: RowBuilder, out: list, personal: tuple | None, line: int, errors: list) -> None:
    idx = builder.idx
    out[idx["search_name"]] = _search_name(out[idx["name"]])
    out[idx["search_kana"]] = _search_kana(out[idx["name_kana"]])
    address = out[idx["address"]]
    katagaki = out[idx["address_katagaki"]]
    out[idx["search_address"]] = builder.search_address(f"{address}{katagaki}" if katagaki else address)
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

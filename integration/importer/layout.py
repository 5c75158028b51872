"""Is a layout usable? Its definition checked against its target before it is saved or used."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from integration.dates import make_date_parser
from integration.importer.kinds import records_problems
from integration.targets import target_for

OPS = {"add": "A", "change": "C", "delete": "D"}


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
        if spec.kind == "support_indicator" and spec.code_table not in (layout.code_tables or {}):
            problems.append(_("%(index)s列目: 支援措置区分にはコード表「%(table)s」が必要です（例: 0=なし 1=DV）")
                            % {"index": index, "table": spec.code_table})
        if spec.kind in ("code", "support_indicator") and spec.choices and spec.code_table in (
                layout.code_tables or {}):
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
    try:
        target.keyed(layout.key_fields)
    except ValueError:
        labels = pgettext("separator", "、").join(
            pgettext("separator", "・").join(target.field(c).label for c in key) for key in target.key_choices)
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
    problems += _column_rule_problems(layout, target)
    problems += records_problems(layout)
    return problems


REFERENCES = {"residents"}  # "exists_in": the mirror a key value must already be in


def _column_rule_problems(layout: object, target: object) -> list[str]:
    """Per-column rules (character class, "not set" values, formula, reference) and the file options."""
    from integration.importer.rows import CHAR_CLASSES

    problems: list[str] = []
    for index, column in enumerate(layout.columns or [], start=1):
        chars = column.get("chars")
        if chars and chars not in CHAR_CLASSES:
            problems.append(_("%(index)s列目: 文字種「%(chars)s」は使用できません（%(allowed)s）")
                            % {"index": index, "chars": chars, "allowed": ", ".join(CHAR_CLASSES)})
        nones = column.get("none_values")
        if nones is not None and not (isinstance(nones, list) and all(isinstance(v, str) for v in nones)):
            problems.append(_("%(index)s列目: 未設定を表す値は文字列の一覧で指定してください") % {"index": index})
        reference = column.get("exists_in")
        if reference:
            spec = target.field(column.get("field", ""))
            if reference not in REFERENCES or spec is None or spec.kind != "atena":
                problems.append(_("%(index)s列目: 存在確認「%(reference)s」は宛名番号の項目に residents（住民記録）"
                                  "だけを指定できます") % {"index": index, "reference": reference})
    options = getattr(layout, "options", None) or {}
    limit = options.get("max_line_bytes")
    if limit is not None and not (isinstance(limit, int) and limit > 0):
        problems.append(_("1行の最大バイト数は正の整数で指定してください"))
    elif limit and layout.format == "fixed" and layout.record_length and layout.record_length > limit:
        problems.append(_("レコード長 %(length)s バイトが1行の最大バイト数 %(limit)s を超えています")
                        % {"length": layout.record_length, "limit": limit})
    if options.get("empty_file_no_change") and layout.mode != "delta":
        problems.append(_("空ファイルを「変更なし」とするのは差分ファイルだけです（全件ファイルでは全件削除になります）"))
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



"""The record kinds and file checks of an import layout as form fields (the layout editor, issue 15 item 8).

``LinkageLayout.records`` (read by ``importer/kinds.py``, see docs/integration.md “Record kinds”) says how a file
is framed: the record-type position, the header and the trailer (present or not, required or optional, found by
their record-type value or by position, their own columns) and the data record's value, the header's file-kind
codes and the file-level checks. The editor shows it as plain fields so that an admin who does not read JSON can
configure a vendor's specification, and keeps the JSON as an advanced view of the same thing.

One truth: ``decompose`` turns the JSON into the fields' values (a plain dict, the *state*), ``compose`` turns
the state back into exactly the JSON the engine reads — for every layout the fields can show,
``compose(decompose(records)) == records`` with the same keys in the same order and the same types, so opening
the editor and saving unchanged gives the same bytes. A layout with something the fields cannot show (an unknown
key, a number written as text) is edited through the JSON view only (``decompose`` returns ``None``).

Which view wins on a save: the page carries the JSON it showed (``rec-shown``). The JSON box unchanged → the
fields are composed; the JSON box changed → the JSON is used, unless the fields were changed too and say
something else (then nothing is saved and the admin is asked to change one of them). ``static/js/layout_editor.js``
keeps both views in step, so with JavaScript either may be edited.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from integration.importer.kinds import CHECKS, FRAME_FIELDS, KIND_LABELS
from madoguchi.inputs import JSONInputError, json_loads

FRAME_KINDS = ("header", "trailer")
POSITIONS = {"header": "first", "trailer": "last"}
PREFIXES = {"header": "hcol", "trailer": "tcol"}
CHECK_LABELS = {
    "municipality_code": _lazy("ヘッダの全国地方公共団体コードがこの自治体のコードであること"),
    "record_count": _lazy("トレーラの件数がデータレコードの件数と同じであること"),
    "file_kind": _lazy("ヘッダのファイル区分（全件・差分）とデータレコードの処理区分が合っていること"),
    "reference_date": _lazy("ヘッダの基準日が前回取り込んだファイルの基準日より前でないこと"),
}
CHECK_SHORT = {
    "municipality_code": _lazy("自治体コードの確認"),
    "record_count": _lazy("件数の確認"),
    "file_kind": _lazy("ファイル区分の確認"),
    "reference_date": _lazy("基準日の確認"),
}
KIND_TITLES = {"header": _lazy("ヘッダレコード"), "trailer": _lazy("トレーラレコード")}
PRESENCE = {
    "header": [("", _lazy("なし（先頭からデータレコード）")), ("required", _lazy("あり（必ずある）")),
               ("optional", _lazy("あり（ないこともある）"))],
    "trailer": [("", _lazy("なし（最後までデータレコード）")), ("required", _lazy("あり（必ずある）")),
                ("optional", _lazy("あり（ないこともある）"))],
}
BY = {
    "header": [("code", _lazy("レコード区分の値で見分ける")),
               ("position", _lazy("ファイルの先頭の行をヘッダとする"))],
    "trailer": [("code", _lazy("レコード区分の値で見分ける")),
                ("position", _lazy("ファイルの最後の行をトレーラとする"))],
}
OPTION_KEYS = ("empty_file_no_change", "max_line_bytes")


class NotRepresentable(ValueError):
    """The records hold something the fields cannot show."""


# ---------------------------------------------------------------------------------------------
# JSON ⇄ state
# ---------------------------------------------------------------------------------------------
def blank_state() -> dict:
    kind = {"presence": "", "by": "code", "code": "", "columns": []}
    return {"type_start": None, "type_length": None, "type_column": None, "data_code": "",
            "header": dict(kind, columns=[]), "trailer": dict(kind, columns=[]),
            "full_codes": [], "delta_codes": [], "checks": []}


def _int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotRepresentable
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise NotRepresentable
    return value


def _dict(value: object) -> dict:
    if not isinstance(value, dict):
        raise NotRepresentable
    return value


def decompose(records: object, *, fixed: bool) -> dict | None:
    """The fields' values for a layout's records, or None when the fields cannot show them exactly."""
    if records in (None, {}):
        return blank_state()
    try:
        spec = _dict(records)
        state = blank_state()
        if "type" in spec:
            kind_type = _dict(spec["type"])
            state["type_start"], state["type_length"] = _int(kind_type.get("start")), _int(kind_type.get("length"))
            state["type_column"] = _int(kind_type.get("column"))
        if "data" in spec:
            state["data_code"] = _str(_dict(spec["data"]).get("code", ""))
        for kind in FRAME_KINDS:
            if kind not in spec:
                continue
            kind_spec = _dict(spec[kind])
            code = kind_spec.get("code")
            state[kind] = {
                "presence": "required" if kind_spec.get("required") else "optional",
                "by": "code" if code not in (None, "") else "position",
                "code": _str(code) if code not in (None, "") else "",
                "columns": [{"field": _str(_dict(c).get("field", "")), "label": _str(c.get("label", "")),
                             "start": _int(c.get("start")), "length": _int(c.get("length"))}
                            for c in kind_spec.get("columns") or []],
            }
        for code, meaning in _dict(spec.get("file_kinds") or {}).items():
            state["full_codes" if meaning == "full" else "delta_codes"].append(code)
        checks = spec.get("checks") or []
        if not isinstance(checks, list):
            raise NotRepresentable
        state["checks"] = list(checks)
    except (NotRepresentable, AttributeError):
        return None
    return state if _canonical(compose(state, fixed=fixed)) == _canonical(records) else None


def compose(state: dict, *, fixed: bool) -> dict:
    """The ``records`` JSON the engine reads, from the fields' values (keys in the documented order)."""
    records: dict[str, Any] = {}
    if fixed and state.get("type_start") is not None and state.get("type_length") is not None:
        records["type"] = {"start": state["type_start"], "length": state["type_length"]}
    elif not fixed and state.get("type_column") is not None:
        records["type"] = {"column": state["type_column"]}
    for kind in ("header", "data", "trailer"):
        if kind == "data":
            if state.get("data_code"):
                records["data"] = {"code": state["data_code"]}
            continue
        kind_state = state.get(kind) or {}
        if not kind_state.get("presence"):
            continue
        out: dict[str, Any] = ({"code": kind_state.get("code", "")} if kind_state.get("by", "code") == "code"
                               else {"position": POSITIONS[kind]})
        out["required"] = kind_state["presence"] == "required"
        columns = []
        for column in kind_state.get("columns") or []:
            item: dict[str, Any] = {"field": column.get("field", "")}
            if column.get("label"):
                item["label"] = column["label"]
            if fixed:
                for name in ("start", "length"):
                    if column.get(name) is not None:
                        item[name] = column[name]
            columns.append(item)
        if columns:
            out["columns"] = columns
        records[kind] = out
    file_kinds = {code: "full" for code in state.get("full_codes") or []}
    file_kinds.update({code: "delta" for code in state.get("delta_codes") or [] if code not in file_kinds})
    if file_kinds:
        records["file_kinds"] = file_kinds
    checks = [name for name in CHECKS if name in (state.get("checks") or [])]
    checks += [name for name in state.get("checks") or [] if name not in CHECKS]  # (refused by the checks)
    if checks:
        records["checks"] = checks
    return records


def _canonical(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def records_text(records: object) -> str:
    """The JSON view's text (the layout editor has always shown it so)."""
    return json.dumps(records, ensure_ascii=False, indent=1) if records else ""


# ---------------------------------------------------------------------------------------------
# Checks of the state, each naming the record kind and the field
# ---------------------------------------------------------------------------------------------
def _codes(text: str) -> list[str]:
    return [code.strip() for code in (text or "").split(",") if code.strip()]


def column_name(kind: str, column: dict, row: int) -> str:
    """How a header/trailer column is named in a message: its label, else its meaning, else its row."""
    if column.get("label"):
        return column["label"]
    meaning = FRAME_FIELDS.get(kind, {}).get(column.get("field", ""))
    return str(meaning) if meaning else _("%(row)s行目") % {"row": row}


def state_problems(state: dict, *, fixed: bool, record_length: int | None = None, has_header: bool = False,
                   op_codes: dict | None = None, data_columns: list[dict] | None = None,
                   codec: str = "utf-8") -> list[tuple[object, str, str]]:
    """What is wrong with the record kinds, as (where, field, message): ``where`` is ``"rec"`` (the record-kind
    form), a column row (the ``_form`` of a state column) or None (the message alone). Every message names the
    record kind and the field, in Japanese."""
    problems: list[tuple[object, str, str]] = []

    def add(where: object, name: str, message: str) -> None:
        problems.append((where, name, message))

    kinds_present = [kind for kind in FRAME_KINDS if state[kind]["presence"]]
    label = {kind: str(KIND_LABELS[kind]) for kind in KIND_LABELS}
    by_code = [kind for kind in kinds_present if state[kind]["by"] == "code"]
    uses_codes = bool(by_code or state["data_code"])
    type_span = None
    if fixed:
        start, length = state["type_start"], state["type_length"]
        for name, value, text in (("type_start", start, _("開始位置")), ("type_length", length, _("長さ"))):
            if value is not None and value < 1:
                add("rec", name, _("レコード区分: %(what)sは1以上にしてください") % {"what": text})
        if (start is None or length is None) and uses_codes:
            add("rec", "type_start" if start is None else "type_length",
                _("レコード区分: 固定長では開始位置と長さ（バイト）を指定してください（レコードをレコード区分の値で"
                  "見分けるため）"))
        if start and length and start >= 1 and length >= 1:
            type_span = (start, start + length - 1)
            if record_length and type_span[1] > record_length:
                add("rec", "type_start", _("レコード区分: %(start)s〜%(end)s バイト目はレコード長 %(length)s バイトを"
                                           "超えています") % {"start": type_span[0], "end": type_span[1],
                                                         "length": record_length})
    else:
        column = state["type_column"]
        if column is not None and column < 1:
            add("rec", "type_column", _("レコード区分: 列番号は1以上にしてください"))
        elif column is None and uses_codes:
            add("rec", "type_column", _("レコード区分: CSVでは列番号（1から）を指定してください（レコードをレコード区分"
                                        "の値で見分けるため）"))
    if uses_codes and not state["data_code"]:
        add("rec", "data_code", _("データ: レコード区分の値を指定してください（ヘッダ・トレーラをレコード区分の値で"
                                  "見分けるときは、データレコードの値も必要です）"))
    seen_codes = {}
    if state["data_code"]:
        seen_codes[state["data_code"]] = "data"
    for kind in kinds_present:
        kind_state = state[kind]
        if kind == "header" and has_header:
            add("rec", "header", _("ヘッダ: ヘッダレコードのあるファイルでは、ファイルの設定の「1行目は見出し行」を"
                                   "外してください"))
        if kind_state["by"] == "code":
            code = kind_state["code"]
            if not code:
                add("rec", f"{kind}_code", _("%(kind)s: レコード区分の値を指定してください（「位置で見分ける」"
                                              "こともできます）") % {"kind": label[kind]})
                continue
            if code in seen_codes:
                add("rec", f"{kind}_code", _("%(kind)s: レコード区分の値「%(code)s」は%(other)sと同じです。"
                                              "レコードの種類ごとに違う値にしてください")
                    % {"kind": label[kind], "code": code, "other": label[seen_codes[code]]})
            else:
                seen_codes[code] = kind
            if fixed and type_span and len(code.encode(codec, errors="replace")) > type_span[1] - type_span[0] + 1:
                add("rec", f"{kind}_code", _("%(kind)s: レコード区分の値「%(code)s」はレコード区分の長さ（%(length)s "
                                              "バイト）に入りません") % {"kind": label[kind], "code": code,
                                                                     "length": type_span[1] - type_span[0] + 1})
    if state["data_code"] and fixed and type_span and \
            len(state["data_code"].encode(codec, errors="replace")) > type_span[1] - type_span[0] + 1:
        add("rec", "data_code", _("データ: レコード区分の値「%(code)s」はレコード区分の長さ（%(length)s バイト）に"
                                  "入りません") % {"code": state["data_code"],
                                                 "length": type_span[1] - type_span[0] + 1})
    for kind in FRAME_KINDS:
        if not state[kind]["presence"] and state[kind]["columns"]:
            add("rec", kind, _("%(kind)s: 「なし」になっていますが項目が書かれています。%(kind)sがあるファイルなら"
                               "「あり」を選び、ないファイルなら項目の行を削除してください") % {"kind": label[kind]})
    for kind in kinds_present:
        problems += _column_problems(kind, state[kind]["columns"], fixed=fixed, record_length=record_length,
                                     type_span=type_span, type_column=state["type_column"])
    # The data record's own record-type column (in the layout's columns) at the record-type position.
    if uses_codes and data_columns is not None:
        typed = [(i, c) for i, c in enumerate(data_columns, start=1) if c.get("field") == "record_type"]
        if not typed:
            add("rec", "data_code", _("データ: 「項目（列）」に「レコード区分」の項目がありません（データレコードの"
                                      "レコード区分の列を加えてください）"))
        for index, column in typed:
            if fixed and type_span and (column.get("start"), column.get("length")) != (
                    type_span[0], type_span[1] - type_span[0] + 1) and column.get("start") and column.get("length"):
                add("rec", "data_code", _("データ: 「項目（列）」の%(index)s列目「レコード区分」（%(start)s〜%(end)s "
                                          "バイト目）がレコード区分の位置（%(type_start)s〜%(type_end)s バイト目）と"
                                          "違います") % {"index": index, "start": column["start"],
                                                        "end": column["start"] + column["length"] - 1,
                                                        "type_start": type_span[0], "type_end": type_span[1]})
            if not fixed and state["type_column"] and state["type_column"] >= 1 and index != state["type_column"]:
                add("rec", "data_code", _("データ: 「項目（列）」の「レコード区分」は%(index)s列目ですが、"
                                          "レコード区分の列は%(column)s列目です")
                    % {"index": index, "column": state["type_column"]})
    # File kinds.
    full, delta = state["full_codes"], state["delta_codes"]
    for code in sorted(set(full) & set(delta)):
        add("rec", "delta_codes", _("ファイル区分: 値「%(code)s」が全件と差分の両方にあります") % {"code": code})
    # The checks and what each needs.
    checks = state["checks"]
    for check in checks:
        if check not in CHECKS:
            add("rec", "checks", _("ファイル検査「%(check)s」は使用できません") % {"check": check})
            continue
        kind, name = CHECKS[check]
        field_name = f"check_{check}"
        meaning = str(FRAME_FIELDS[kind][name])
        short = str(CHECK_SHORT[check])
        if not state[kind]["presence"]:
            add("rec", field_name, _("%(kind)s: 検査「%(check)s」には%(kind)sレコードが必要です。「%(kind)s」を"
                                     "「あり」にして「%(field)s」の項目を加えてください")
                % {"kind": label[kind], "check": short, "field": meaning})
        elif not any(c.get("field") == name for c in state[kind]["columns"]):
            add("rec", field_name, _("%(kind)s: 「%(field)s」の項目がありません（検査「%(check)s」に必要です）")
                % {"kind": label[kind], "field": meaning, "check": short})
    if "file_kind" in checks:
        short = str(CHECK_SHORT["file_kind"])
        if not full and not delta:
            add("rec", "full_codes", _("ファイル区分: 全件・差分を表すヘッダの値を指定してください（検査「%(check)s」に"
                                       "必要です）") % {"check": short})
        if data_columns is not None and not any(c.get("field") == "op" for c in data_columns):
            add("rec", "check_file_kind", _("データ: 「項目（列）」に「処理区分」の項目がありません"
                                            "（検査「%(check)s」に必要です）") % {"check": short})
        if op_codes is not None and not op_codes:
            add("rec", "check_file_kind", _("データ: 差分の処理区分コード（追加・変更・削除）を指定してください"
                                            "（検査「%(check)s」に必要です）") % {"check": short})
    return problems


def _column_problems(kind: str, columns: list[dict], *, fixed: bool, record_length: int | None,
                     type_span: tuple[int, int] | None, type_column: int | None) -> list[tuple[object, str, str]]:
    problems: list[tuple[object, str, str]] = []
    label = str(KIND_LABELS[kind])
    seen: dict[str, str] = {}
    spans = []
    for row, column in enumerate(columns, start=1):
        where = column.get("_form")
        name = column_name(kind, column, row)
        field = column.get("field", "")
        if not field:
            problems.append((where, "field", _("%(kind)s: %(row)s行目「%(name)s」の項目の意味を選んでください")
                             % {"kind": label, "row": row, "name": name}))
            continue
        if field not in FRAME_FIELDS[kind]:
            problems.append((where, "field", _("%(kind)s: %(row)s行目の項目「%(field)s」は%(kind)sでは使えません")
                             % {"kind": label, "row": row, "field": field}))
            continue
        if field != "ignore":
            if field in seen:
                problems.append((where, "field", _("%(kind)s: 「%(name)s」は%(other)sと同じ項目（%(meaning)s）です")
                                 % {"kind": label, "name": name, "other": seen[field],
                                    "meaning": FRAME_FIELDS[kind][field]}))
            seen.setdefault(field, name)
        if fixed:
            start, length = column.get("start"), column.get("length")
            for key, value, text in (("start", start, _("開始位置")), ("length", length, _("長さ（バイト）"))):
                if value is None:
                    problems.append((where, key, _("%(kind)s: %(name)sの%(what)sを指定してください")
                                     % {"kind": label, "name": name, "what": text}))
                elif value < 1:
                    problems.append((where, key, _("%(kind)s: %(name)sの%(what)sは1以上にしてください")
                                     % {"kind": label, "name": name, "what": text}))
            if start and length and start >= 1 and length >= 1:
                end = start + length - 1
                spans.append((start, end, name, where))
                if record_length and end > record_length:
                    problems.append((where, "length", _("%(kind)s: %(name)s（%(start)s〜%(end)s バイト目）はレコード長 "
                                                        "%(length)s バイトを超えています")
                                     % {"kind": label, "name": name, "start": start, "end": end,
                                        "length": record_length}))
                if field == "record_type" and type_span and (start, end) != type_span:
                    problems.append((where, "start", _("%(kind)s: %(name)s（%(start)s〜%(end)s バイト目）がレコード区分"
                                                       "の位置（%(type_start)s〜%(type_end)s バイト目）と違います")
                                     % {"kind": label, "name": name, "start": start, "end": end,
                                        "type_start": type_span[0], "type_end": type_span[1]}))
        elif field == "record_type" and type_column and type_column >= 1 and row != type_column:
            problems.append((where, "field", _("%(kind)s: %(name)sは%(row)s列目ですが、レコード区分の列は%(column)s"
                                               "列目です") % {"kind": label, "name": name, "row": row,
                                                           "column": type_column}))
    spans.sort(key=lambda span: (span[0], span[1]))
    for (s1, e1, n1, _w1), (s2, e2, n2, w2) in zip(spans, spans[1:], strict=False):
        if s2 <= e1:
            problems.append((w2, "start", _("%(kind)s: %(name)s（%(start)s〜%(end)s バイト目）が%(other)s"
                                            "（%(other_start)s〜%(other_end)s バイト目）と重なっています")
                             % {"kind": label, "name": n2, "start": s2, "end": e2, "other": n1,
                                "other_start": s1, "other_end": e1}))
    return problems


# ---------------------------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------------------------
NUMBER = {"invalid": _lazy("数字で入力してください")}


def _number(label: object, help_text: object = "") -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, help_text=help_text, max_value=100_000,
                              error_messages=NUMBER,
                              widget=forms.NumberInput(attrs={"min": "1", "inputmode": "numeric"}))


class RecordKindsForm(forms.Form):
    """The record kinds (without their column rows) and the file checks."""

    present = forms.CharField(widget=forms.HiddenInput, required=False, initial="1")
    structured = forms.CharField(widget=forms.HiddenInput, required=False, initial="1")
    shown = forms.CharField(widget=forms.HiddenInput, required=False)
    type_start = _number(_lazy("レコード区分の開始位置（固定長、バイト）"),
                         _lazy("各レコードの種類を表す値（例: 1 ヘッダ、2 データ、9 トレーラ）の位置。"))
    type_length = _number(_lazy("レコード区分の長さ（固定長、バイト）"))
    type_column = _number(_lazy("レコード区分の列番号（CSV、1から）"),
                          _lazy("各レコードの種類を表す値（例: H ヘッダ、D データ、T トレーラ）の列。"))
    data_code = forms.CharField(label=_lazy("データレコードのレコード区分の値"), required=False, max_length=20,
                                help_text=_lazy("例: 2。データレコードの項目は上の「項目（列）」の表に書き、"
                                                "レコード区分の列には「レコード区分」を選びます。ヘッダ・トレーラを位置で"
                                                "見分けるファイルでは空欄にします。"))
    header = forms.ChoiceField(label=_lazy("ヘッダの有無"), required=False, choices=PRESENCE["header"],
                               widget=forms.RadioSelect,
                               help_text=_lazy("ファイルの先頭にある、自治体コード・ファイル区分・基準日などのレコード。"))
    header_by = forms.ChoiceField(label=_lazy("ヘッダの見分け方"), required=False, choices=BY["header"],
                                  widget=forms.RadioSelect)
    header_code = forms.CharField(label=_lazy("ヘッダのレコード区分の値"), required=False, max_length=20,
                                  help_text=_lazy("例: 1"))
    trailer = forms.ChoiceField(label=_lazy("トレーラの有無"), required=False, choices=PRESENCE["trailer"],
                                widget=forms.RadioSelect,
                                help_text=_lazy("ファイルの最後にある、件数などのレコード。"))
    trailer_by = forms.ChoiceField(label=_lazy("トレーラの見分け方"), required=False, choices=BY["trailer"],
                                   widget=forms.RadioSelect)
    trailer_code = forms.CharField(label=_lazy("トレーラのレコード区分の値"), required=False, max_length=20,
                                   help_text=_lazy("例: 9"))
    full_codes = forms.CharField(label=_lazy("全件を表すファイル区分の値"), required=False, max_length=40,
                                 help_text=_lazy("ヘッダの「ファイル区分」の値。全件と差分を同じレイアウト・同じ受信フォルダで"
                                                 "受けるときに指定します。複数あるときは「,」で区切ります（例: 1）"))
    delta_codes = forms.CharField(label=_lazy("差分を表すファイル区分の値"), required=False, max_length=40,
                                  help_text=_lazy("例: 2"))
    check_municipality_code = forms.BooleanField(
        label=CHECK_LABELS["municipality_code"], required=False,
        help_text=_lazy("ヘッダに「全国地方公共団体コード」の項目が必要です。他の自治体のファイルは取り込みません。"))
    check_record_count = forms.BooleanField(
        label=CHECK_LABELS["record_count"], required=False,
        help_text=_lazy("トレーラに「件数」の項目が必要です。途中で切れたファイルを取り込みません。"))
    check_file_kind = forms.BooleanField(
        label=CHECK_LABELS["file_kind"], required=False,
        help_text=_lazy("ヘッダに「ファイル区分」の項目、上の全件・差分の値、データレコードに「処理区分」の項目と"
                        "処理区分コードが必要です。全件のヘッダで処理区分のあるレコード（またはその逆）を拒否します。"))
    check_reference_date = forms.BooleanField(
        label=CHECK_LABELS["reference_date"], required=False,
        help_text=_lazy("ヘッダに「基準日」の項目が必要です。同じ基準日は取り込みます。"))
    empty_file_no_change = forms.BooleanField(
        label=_lazy("空のファイル（0バイト）は「変更なし」として記録する"), required=False,
        help_text=_lazy("差分ファイルだけ。5分ごとの緊急ファイルなど、変更がないときに空のファイルが届く場合に"
                        "警告にしません。"))
    max_line_bytes = _number(_lazy("1行の最大バイト数"),
                             _lazy("これより長い行はその行のエラーにします。空欄は制限なし。"))

    def __init__(self, *args: object, encoding: str = "utf-8", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.encoding = encoding
        for name in ("header_code", "trailer_code", "data_code", "full_codes", "delta_codes"):
            self.fields[name].widget.attrs.update(autocomplete="off", spellcheck="false")

    @property
    def check_fields(self) -> list:
        return [self[f"check_{name}"] for name in CHECKS]

    def clean_max_line_bytes(self) -> int | None:
        value = self.cleaned_data.get("max_line_bytes")
        if value is not None and value < 1:
            raise forms.ValidationError(_("1行の最大バイト数は1以上にしてください"))
        return value


class RecordColumnForm(forms.Form):
    """One column of a header or trailer record."""

    field = forms.ChoiceField(label=_lazy("項目の意味"), required=False)
    label = forms.CharField(label=_lazy("見出し・名称"), required=False, max_length=100)
    start = _number(_lazy("開始位置"))
    length = _number(_lazy("長さ"))

    def __init__(self, *args: object, kind: str = "header", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["field"].choices = [("", _("（選んでください）")),
                                        *((name, str(text)) for name, text in FRAME_FIELDS[kind].items())]

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any(data.get(name) not in (None, "") for name in ("field", "label", "start", "length"))


RecordColumnFormSet = forms.formset_factory(RecordColumnForm, extra=2, can_delete=True, max_num=50,
                                            validate_max=True)


class RecordsEditor:
    """The record-kind form, the column rows of the header and of the trailer, and which view is saved.

    Unbound (the page as first shown): the fields show ``records`` when they can (``structured``), else only
    the JSON view is offered. Bound: ``decide`` (after the settings form was cleaned) sets ``records`` — the
    JSON the layout gets — and ``options`` (the two file options these fields edit, merged into the layout's
    other options), or adds the problems and returns False.
    """

    def __init__(self, *, data: object = None, records: object = None, options: dict | None = None,
                 fixed: bool = False, encoding: str = "utf-8") -> None:
        self.options_before = dict(options or {})
        self.posted = data is not None and (data.get("rec-present") == "1")
        self.bound = data if self.posted else None
        self.structured = (data.get("rec-structured") == "1") if self.posted else (
            decompose(records, fixed=fixed) is not None)
        state = (decompose(records, fixed=fixed) if not self.posted else None) or blank_state()
        shown = records_text(records) if not self.posted else None
        initial = {"present": "1", "structured": "1", "shown": shown,
                   "type_start": state["type_start"], "type_length": state["type_length"],
                   "type_column": state["type_column"], "data_code": state["data_code"],
                   "full_codes": ",".join(state["full_codes"]), "delta_codes": ",".join(state["delta_codes"]),
                   "empty_file_no_change": bool(self.options_before.get("empty_file_no_change")),
                   "max_line_bytes": self.options_before.get("max_line_bytes")}
        for kind in FRAME_KINDS:
            initial[kind] = state[kind]["presence"]
            initial[f"{kind}_by"] = state[kind]["by"]
            initial[f"{kind}_code"] = state[kind]["code"]
        for check in CHECKS:
            initial[f"check_{check}"] = check in state["checks"]
        self.form = RecordKindsForm(self.bound, initial=initial, prefix="rec", encoding=encoding)
        self.columns = {
            kind: RecordColumnFormSet(self.bound if self.structured else None, prefix=PREFIXES[kind],
                                      initial=None if self.posted else [
                                          {k: c[k] for k in ("field", "label", "start", "length")}
                                          for c in state[kind]["columns"]],
                                      form_kwargs={"kind": kind})
            for kind in FRAME_KINDS}
        self.records: dict | None = None
        self.options: dict = dict(self.options_before)
        self.messages: list[str] = []
        self.json_open = not self.structured

    # -- for the template ----------------------------------------------------------------------------
    @property
    def kinds(self) -> list[dict]:
        return [{"kind": kind, "title": KIND_TITLES[kind], "label": KIND_LABELS[kind], "presence": self.form[kind],
                 "by": self.form[f"{kind}_by"], "code": self.form[f"{kind}_code"], "columns": self.columns[kind]}
                for kind in FRAME_KINDS]

    # -- saving ---------------------------------------------------------------------------------------
    def state(self, *, fixed: bool) -> dict:
        """The state the bound fields say (only after they were cleaned without errors)."""
        data = self.form.cleaned_data
        state = blank_state()
        for name in ("type_start", "type_length", "type_column"):
            state[name] = data.get(name)
        state["data_code"] = (data.get("data_code") or "").strip()
        for kind in FRAME_KINDS:
            rows = []
            formset = self.columns[kind]
            deleted = set(map(id, formset.deleted_forms)) if formset.can_delete else set()
            for form in formset.forms:
                if id(form) in deleted or form.is_blank:
                    continue
                cleaned = form.cleaned_data
                rows.append({"field": cleaned.get("field") or "", "label": (cleaned.get("label") or "").strip(),
                             "start": cleaned.get("start"), "length": cleaned.get("length"), "_form": form})
            state[kind] = {"presence": data.get(kind) or "", "by": data.get(f"{kind}_by") or "code",
                           "code": (data.get(f"{kind}_code") or "").strip(), "columns": rows}
        state["full_codes"] = _codes(data.get("full_codes"))
        state["delta_codes"] = _codes(data.get("delta_codes"))
        state["checks"] = [name for name in CHECKS if data.get(f"check_{name}")]
        return state

    def decide(self, *, json_value: object, json_valid: bool, fixed: bool, context: dict) -> bool:
        """Choose the view to save and check it. ``json_value`` is the JSON box's parsed value (``json_valid``
        False: it could not be read — its own error is shown on it). ``context`` holds what the checks need
        from the rest of the editor (record length, has_header, mode, op codes, the data columns; None where
        the rest of the editor could not say)."""
        if not self.posted:  # a client that sends the JSON only (as before the fields existed)
            self.records = json_value if json_valid else None
            return json_valid
        fields_ok = self.form.is_valid()
        rows_ok = self.structured and all(formset.is_valid() for formset in self.columns.values())
        if fields_ok:
            options = dict(self.options_before)
            for name in OPTION_KEYS:
                value = self.form.cleaned_data.get(name)
                if value:
                    options[name] = value
                elif name in options and (options[name] or name == "max_line_bytes"):
                    del options[name]  # (a stored false stays as it was: an unchanged save changes nothing)
            self.options = options
        try:
            shown = json_loads(self.form.data.get("rec-shown") or "{}", field="rec-shown") or {}
        except JSONInputError:
            shown = None
        json_changed = not json_valid or _canonical(json_value) != _canonical(shown)
        if not self.structured or json_changed:
            self.json_open = True
            if not fields_ok:
                self._field_errors()
            if not json_valid:
                return False
            if fields_ok and rows_ok:
                composed = compose(self.state(fixed=fixed), fixed=fixed)
                if _canonical(composed) not in (_canonical(shown), _canonical(json_value)):
                    self.messages.append(_("レコード種別: 画面の項目とJSONの両方が変更されていて、内容が違います。"
                                           "どちらか一方だけを変更して保存してください"))
                    return False
            self.records = json_value
            spread = decompose(json_value, fixed=fixed)
            if spread is not None:  # the same checks, named, on what the JSON says
                self._report(state_problems(spread, fixed=fixed, codec=self._codec(), **context), attach=False)
            return fields_ok and not self.messages
        if not (fields_ok and rows_ok):
            self._field_errors()
            return False
        state = self.state(fixed=fixed)
        self.records = compose(state, fixed=fixed)
        self._json_text = records_text(self.records)  # the JSON view shows what the fields say
        self.form.data = self.form.data.copy()
        self.form.data[self.form.add_prefix("shown")] = self._json_text
        self._report(state_problems(state, fixed=fixed, codec=self._codec(), **context), attach=True)
        return not self.messages

    def _codec(self) -> str:
        encoding = self.form.encoding or "utf-8"
        return "utf-8" if encoding.startswith("utf-8") else encoding

    def _report(self, problems: list[tuple[object, str, str]], *, attach: bool) -> None:
        for where, name, message in problems:
            if message in self.messages:
                continue
            self.messages.append(message)
            if not attach:
                continue
            form = self.form if where == "rec" else where
            if form is not None and name in form.fields:
                form.add_error(name, message)

    def _field_errors(self) -> None:
        """The fields' own errors (a number that is not one, too many rows), named by record kind."""
        for name, errors in self.form.errors.items():
            field = self.form.fields.get(name)
            for error in errors:
                self.messages.append(_("レコード種別: %(field)s: %(error)s") % {"field": field.label if field else name,
                                                                             "error": error})
        for kind, formset in self.columns.items():
            if not self.structured:
                continue
            for error in formset.non_form_errors():
                self.messages.append(_("%(kind)s: %(error)s") % {"kind": KIND_LABELS[kind], "error": error})
            for row, form in enumerate(formset.forms, start=1):
                for name, errors in form.errors.items():
                    field = form.fields.get(name)
                    for error in errors:
                        self.messages.append(_("%(kind)s: %(row)s行目の%(field)s: %(error)s")
                                             % {"kind": KIND_LABELS[kind], "row": row,
                                                "field": field.label if field else name, "error": error})

    @property
    def json_text(self) -> str | None:
        """The JSON view's text after a composed save was refused (None: what was posted stays)."""
        return getattr(self, "_json_text", None)



# ---------------------------------------------------------------------------------------------
# The layout page: what the record kinds and checks say, in words
# ---------------------------------------------------------------------------------------------
def records_summary(layout: object) -> dict | None:
    """The record kinds, file-kind codes, checks and file options of a layout, for its page (None: none)."""
    from integration.importer.kinds import FILE_KIND_LABELS

    spec = getattr(layout, "records", None) or {}
    options = getattr(layout, "options", None) or {}
    if not isinstance(spec, dict) or not (spec or options.get("empty_file_no_change") or options.get("max_line_bytes")):
        return None
    fixed = layout.format == "fixed"
    type_spec = spec.get("type") or {}
    if fixed and type_spec.get("start"):
        where = _("%(start)s バイト目から %(length)s バイト") % {"start": type_spec.get("start"),
                                                              "length": type_spec.get("length")}
    elif type_spec.get("column"):
        where = _("%(column)s列目") % {"column": type_spec["column"]}
    else:
        where = ""
    kinds = []
    for kind in ("header", "data", "trailer"):
        kind_spec = spec.get(kind)
        if not isinstance(kind_spec, dict) or (kind == "data" and not kind_spec.get("code")):
            continue
        code = kind_spec.get("code")
        how = (_("レコード区分「%(code)s」") % {"code": code} if code not in (None, "")
               else _("ファイルの先頭の行") if kind == "header" else _("ファイルの最後の行"))
        if kind != "data":
            how += _("（必ずある）") if kind_spec.get("required") else _("（ないこともある）")
        columns = []
        for column in kind_spec.get("columns") or []:
            meaning = str(FRAME_FIELDS.get(kind, {}).get(column.get("field", ""), column.get("field", "")))
            start, length = _int_value(column.get("start")), _int_value(column.get("length"))
            place = (_("%(start)s〜%(end)s バイト目") % {"start": start, "end": start + length - 1}
                     if fixed and start else "")
            columns.append({"label": column.get("label") or meaning, "meaning": meaning, "place": place})
        kinds.append({"label": KIND_LABELS[kind], "how": how, "columns": columns,
                      "note": _("上の「項目」の表") if kind == "data" else ""})
    file_kinds = [(str(code), str(FILE_KIND_LABELS.get(value, value)))
                  for code, value in (spec.get("file_kinds") or {}).items()]
    checks = [str(CHECK_LABELS.get(name, name)) for name in spec.get("checks") or []]
    return {"type": where, "kinds": kinds, "file_kinds": file_kinds, "checks": checks,
            "empty_file_no_change": bool(options.get("empty_file_no_change")),
            "max_line_bytes": options.get("max_line_bytes")}


def _int_value(value: object) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0

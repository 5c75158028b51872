"""Export layouts as data: a :class:`LayoutSpec` says how records of one kind become a file.

A spec is plain data (no database): it comes from a shipped default (``builtin_layouts``), from an
``ExportLayout`` row a municipal admin imported, or from a JSON file. ``spec_from_dict`` validates
everything first and reports every problem with its place (``columns[3].width``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from integration.exports import registry
from integration.exports.registry import META_ITEMS, ExportKind
from integration.exports.wareki import DATE_STYLES

# Names of the settings' values for screens and messages (some are lazy translations).
FORMATS = {"csv": "CSV", "fixed": _lazy("固定長")}
ENCODINGS = {"utf-8": "UTF-8", "utf-8-sig": _lazy("UTF-8（BOM付き）"), "cp932": _lazy("Shift_JIS（CP932）")}
LINE_ENDINGS = {"crlf": "CRLF", "lf": "LF"}
LINE_ENDING_CHARS = {"crlf": "\r\n", "lf": "\n"}
UNENCODABLE = {"error": _lazy("出力しない（エラーとして報告）"), "replace": _lazy("代替文字に置き換えて報告")}
QUOTING = {"minimal": _lazy("必要な場合のみ"), "all": _lazy("すべての値")}
# Written into files in place of a character the encoding cannot hold: data, whatever the UI language.
DEFAULT_REPLACEMENT = "〓"
ALIGN = ("left", "right")
FORMAT_VERSION = 1
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class LayoutError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Column:
    item: str
    header: str = ""
    width: int | None = None  # fixed-width: bytes in the layout's encoding
    align: str = "left"
    pad: str = " "
    map: dict[str, str] = field(default_factory=dict)  # code value -> value the core system expects


@dataclass(frozen=True)
class LayoutSpec:
    kind: str
    code: str
    name: str
    format: str = "csv"
    encoding: str = "utf-8"
    header: bool = True
    line_ending: str = "crlf"
    date_style: str = "yyyymmdd"
    unencodable: str = "error"
    replacement: str = DEFAULT_REPLACEMENT
    quoting: str = "minimal"
    columns: tuple[Column, ...] = ()
    builtin: bool = False

    @property
    def extension(self) -> str:
        return "csv" if self.format == "csv" else "txt"

    @property
    def content_type(self) -> str:
        charset = "shift_jis" if self.encoding == "cp932" else "utf-8"
        return f"text/csv; charset={charset}" if self.format == "csv" else f"text/plain; charset={charset}"

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("builtin")
        data["columns"] = [
            {key: value for key, value in asdict(column).items()
             if not (key == "map" and not value) and not (key == "width" and value is None)
             and not (key == "align" and value == "left") and not (key == "pad" and value == " ")}
            for column in self.columns
        ]
        return {"madoguchi_export_layout": FORMAT_VERSION, **data}


def _choice(errors: list[str], data: dict, key: str, choices: dict | tuple, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or value not in choices:
        errors.append(_("%(key)s: 「%(value)s」は使えません（使用できる値: %(choices)s）。")
                      % {"key": key, "value": value, "choices": ", ".join(choices)})
        return default
    return value


def spec_from_dict(data: object, *, builtin: bool = False) -> LayoutSpec:
    """Validate a layout definition (as loaded from JSON) and build its spec; raises LayoutError."""
    if not isinstance(data, dict):
        raise LayoutError([_("レイアウト定義はJSONオブジェクトで指定してください。")])
    errors: list[str] = []
    version = data.get("madoguchi_export_layout", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        errors.append(_("madoguchi_export_layout: 対応していない版です（%(v)s）。") % {"v": version})
    kind = registry.get(str(data.get("kind", "")))
    if kind is None:
        errors.append(_("kind: 出力データの種別「%(kind)s」は登録されていません（登録済み: %(known)s）。")
                      % {"kind": data.get("kind", ""), "known": ", ".join(k.code for k in registry.registered())})
    code = str(data.get("code", ""))
    if not _CODE.match(code):
        errors.append(_("code: レイアウトコードは英小文字・数字・_・- の40文字以内で指定してください（値: %(code)s）。")
                      % {"code": code})
    name = str(data.get("name", "")).strip()
    if not name or len(name) > 64:
        errors.append(_("name: 名称を64文字以内で指定してください。"))
    fmt = _choice(errors, data, "format", FORMATS, "csv")
    encoding = _choice(errors, data, "encoding", ENCODINGS, "utf-8")
    line_ending = _choice(errors, data, "line_ending", LINE_ENDINGS, "crlf")
    date_style = _choice(errors, data, "date_style", DATE_STYLES, "yyyymmdd")
    unencodable = _choice(errors, data, "unencodable", UNENCODABLE, "error")
    quoting = _choice(errors, data, "quoting", QUOTING, "minimal")
    header = data.get("header", True)
    if not isinstance(header, bool):
        errors.append(_("header: true または false で指定してください。"))
        header = True
    if fmt == "fixed" and header:
        errors.append(_("header: 固定長のレイアウトには見出し行を付けられません。"))
    replacement = data.get("replacement", DEFAULT_REPLACEMENT)
    if not isinstance(replacement, str) or len(replacement) != 1:
        errors.append(_("replacement: 代替文字は1文字で指定してください。"))
        replacement = DEFAULT_REPLACEMENT
    else:
        try:
            replacement.encode(encoding)
        except UnicodeEncodeError:
            errors.append(_("replacement: 代替文字「%(c)s」は %(enc)s で表せません。")
                          % {"c": replacement, "enc": ENCODINGS[encoding]})
    raw_columns = data.get("columns")
    columns: list[Column] = []
    if not isinstance(raw_columns, list) or not raw_columns:
        errors.append(_("columns: 出力する項目を1つ以上指定してください。"))
        raw_columns = []
    for index, raw in enumerate(raw_columns):
        place = f"columns[{index}]"
        if not isinstance(raw, dict):
            errors.append(_("%(place)s: 項目の定義はJSONオブジェクトで指定してください。") % {"place": place})
            continue
        item = str(raw.get("item", ""))
        if kind is not None and item not in META_ITEMS and kind.item(item) is None:
            errors.append(_("%(place)s.item: 項目「%(item)s」は「%(kind)s」にありません。")
                          % {"place": place, "item": item, "kind": kind.label})
        width = raw.get("width")
        if fmt == "fixed":
            if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= 1000:
                errors.append(_("%(place)s.width: 固定長では幅（バイト数）を1〜1000の整数で指定してください。")
                              % {"place": place})
                width = None
        elif width is not None:
            errors.append(_("%(place)s.width: 幅は固定長のレイアウトだけで指定できます。") % {"place": place})
            width = None
        align = raw.get("align", "left")
        if not isinstance(align, str) or align not in ALIGN:
            errors.append(_("%(place)s.align: left または right で指定してください。") % {"place": place})
            align = "left"
        pad = raw.get("pad", " ")
        codec = "utf-8" if encoding == "utf-8-sig" else encoding
        if not isinstance(pad, str) or len(pad) != 1 or len(pad.encode(codec, errors="replace")) != 1:
            errors.append(_("%(place)s.pad: 埋め文字は1バイトの文字（空白や0）で指定してください。") % {"place": place})
            pad = " "
        value_map = raw.get("map", {})
        if not isinstance(value_map, dict) or not all(isinstance(v, str) for v in value_map.values()):
            errors.append(_("%(place)s.map: 値の対応は {\"コード\": \"出力する値\"} で指定してください。")
                          % {"place": place})
            value_map = {}
        header_label = raw.get("header")
        if header_label is None:
            header_label = kind.label_for(item) if kind else item
        columns.append(Column(item=item, header=str(header_label), width=width, align=align, pad=pad,
                              map={str(k): v for k, v in value_map.items()}))
    if errors:
        raise LayoutError(errors)
    return LayoutSpec(kind=kind.code, code=code, name=name, format=fmt, encoding=encoding, header=header,
                      line_ending=line_ending, date_style=date_style, unencodable=unencodable,
                      replacement=replacement, quoting=quoting, columns=tuple(columns), builtin=builtin)


def default_spec(kind: ExportKind) -> LayoutSpec:
    """The shipped layout of every kind: UTF-8 CSV, Japanese headers, CRLF, 西暦 YYYYMMDD; then ``支援措置マスク``
    (1 on a row whose addresses were masked for a support measure) and, last, ``訂正区分`` / ``訂正元受付連番``
    (a correction of a record already handed over, and the record it replaces)."""
    items = ["_id", "_received_date", "_source_id", *(kind.default_columns or kind.item_codes), "_masked",
             "_correction", "_corrects_id"]
    return spec_from_dict({
        "kind": kind.code, "code": "standard", "name": _("標準（UTF-8 CSV・見出しあり）"), "format": "csv",
        "encoding": "utf-8", "header": True, "line_ending": "crlf", "date_style": "yyyymmdd",
        "columns": [{"item": item} for item in items],
    }, builtin=True)


# Extra shipped layouts: a legacy CP932 fixed-width file for 住民異動届 (和暦 dates, coded values).
_LEGACY_JUKI_FIXED = {
    "kind": "juki_idou", "code": "legacy_cp932_fixed", "name": _lazy("旧システム向け（Shift_JIS 固定長・和暦）"),
    "format": "fixed", "encoding": "cp932", "header": False, "line_ending": "crlf", "date_style": "wareki_letter",
    "columns": [
        {"item": "_id", "width": 10, "align": "right", "pad": "0"},
        {"item": "idou_jiyu", "width": 2, "map": {"tennyu": "11", "tenshutsu": "12", "tenkyo": "13",
                                                  "setai_henkou": "14"}},
        {"item": "idou_date", "width": 7},
        {"item": "todokede_date", "width": 7},
        {"item": "atena_no", "width": 15, "align": "right", "pad": "0"},
        {"item": "household_no", "width": 15, "align": "right", "pad": "0"},
        {"item": "name", "width": 40},
        {"item": "name_kana", "width": 60},
        {"item": "birth_date", "width": 7},
        {"item": "sex", "width": 1},
        {"item": "relationship", "width": 20},
        {"item": "new_address", "width": 120},
        {"item": "new_katagaki", "width": 80},
        {"item": "old_address", "width": 120},
        {"item": "_masked", "width": 1},  # 1: addresses masked (support measure) — the core system refuses the row
    ],
}


def builtin_layouts(kind: ExportKind) -> list[LayoutSpec]:
    specs = [default_spec(kind)]
    if kind.code == _LEGACY_JUKI_FIXED["kind"]:
        specs.append(spec_from_dict(_LEGACY_JUKI_FIXED, builtin=True))
    return specs


# ---- Names of a layout's places, for messages and the visual editor (issue 17 item 9) ------------------------
# A problem of spec_from_dict starts with its place in the JSON (``columns[3].width: …``); the editor shows the
# place by its Japanese name (「4列目（氏名）の幅（バイト）」) and marks the control that edits it.

def setting_labels() -> dict[str, str]:
    return {
        "madoguchi_export_layout": _("定義の版"), "kind": _("出力データの種別"), "code": _("コード"),
        "name": _("名称"), "format": _("ファイルの形式"), "encoding": _("文字コード"), "header": _("見出し行"),
        "line_ending": _("改行"), "date_style": _("日付の形式"), "unencodable": _("表せない文字の扱い"),
        "replacement": _("代替文字"), "quoting": _("引用符で囲む値"), "columns": _("出力する列"),
    }


def column_labels() -> dict[str, str]:
    return {"item": _("項目"), "header": _("見出し"), "width": _("幅（バイト）"), "align": _("寄せ"),
            "pad": _("埋め文字"), "map": _("値の対応")}


_PLACE = re.compile(r"^(?P<place>[a-z_]+(?:\[(?P<index>\d+)\](?:\.(?P<attr>[a-z_]+))?)?): (?P<text>.*)$", re.S)


@dataclass(frozen=True)
class Problem:
    place: str  # the JSON place (``columns[3].width``), "" when the message names none
    label: str  # its Japanese name (「4列目（氏名）の幅（バイト）」)
    message: str

    @property
    def text(self) -> str:
        if not self.place:
            return self.message
        return _("%(label)s（%(place)s）: %(message)s") % {"label": self.label, "place": self.place,
                                                          "message": self.message}


def describe_problems(errors: list[str], data: object) -> list[Problem]:
    """Each message of a :class:`LayoutError` with its place named in Japanese, for people editing on screen."""
    settings, columns = setting_labels(), column_labels()
    raw_columns = data.get("columns") if isinstance(data, dict) else None
    kind = registry.get(str(data.get("kind", ""))) if isinstance(data, dict) else None
    problems = []
    for error in errors:
        match = _PLACE.match(error)
        if not match:
            problems.append(Problem(place="", label="", message=error))
            continue
        place, index, attr = match["place"], match["index"], match["attr"]
        if index is None:
            label = settings.get(place, place)
        else:
            position = int(index)
            raw = raw_columns[position] if isinstance(raw_columns, list) and position < len(raw_columns) else None
            item = str(raw.get("item", "")) if isinstance(raw, dict) else ""
            item_label = (kind.label_for(item) if kind else item) or _("項目未選択")
            label = _("%(n)d列目（%(item)s）") % {"n": position + 1, "item": item_label}
            if attr:
                label = _("%(column)sの%(attr)s") % {"column": label, "attr": columns.get(attr, attr)}
        problems.append(Problem(place=place, label=label, message=match["text"]))
    return problems


def editor_vocabulary(kind: ExportKind) -> dict:
    """What the visual layout editor offers for ``kind``: its items with meanings and code tables, the layout's
    settings with their Japanese names, and the editor's words (translated here, so the script has none)."""
    def choices(table: dict) -> list[list[str]]:
        return [[value, str(label)] for value, label in table.items()]

    return {
        "kind": {"code": kind.code, "label": str(kind.label)},
        "items": [{"code": item.code, "label": item.label, "meaning": str(item.meaning), "type": item.type,
                   "address": item.address, "codes": [[code, label] for code, label in item.codes]}
                  for item in kind.items],
        "meta": [{"code": code, "label": label, "meaning": str(meaning)}
                 for code, (label, meaning) in META_ITEMS.items()],
        "choices": {"format": choices(FORMATS), "encoding": choices(ENCODINGS),
                    "line_ending": choices(LINE_ENDINGS), "date_style": choices(DATE_STYLES),
                    "unencodable": choices(UNENCODABLE), "quoting": choices(QUOTING),
                    "align": [["left", _("左寄せ")], ["right", _("右寄せ")]],
                    "pad": [[" ", _("空白")], ["0", _("0（ゼロ）")]]},
        "labels": {**setting_labels(), **{f"column.{key}": value for key, value in column_labels().items()}},
        "text": {
            "settings": _("基本設定"),
            "columns": _("出力する列（上から順にファイルの左から並びます）"),
            "column": _("%(n)s列目"),
            "kindItems": _("「%(kind)s」の項目"),
            "metaItems": _("受付の情報"),
            "headerPlaceholder": _("空欄なら「%(label)s」"),
            "headerOn": _("1行目に見出し行を付ける"),
            "fixedNoHeader": _("固定長には見出し行を付けられません。"),
            "mapLegend": _("値の対応（空欄ならコードのまま出力）"),
            "mapValue": _("「%(label)s」（%(code)s）を出力する値"),
            "mapOther": _("コード表にない値の対応（高度な表示で編集）: %(pairs)s"),
            "up": _("上へ"), "down": _("下へ"), "remove": _("削除"),
            "addItem": _("追加する項目"), "add": _("列を追加"),
            "added": _("%(label)sの列を追加しました。"), "removed": _("%(label)sの列を削除しました。"),
            "moved": _("%(label)sの列を移動しました。"),
            "empty": _("列がありません。下の「列を追加」で項目を選んでください。"),
            "advanced": _("高度な表示（JSON）"),
            "unreadable": _("高度な表示の内容がJSONとして読めないため、組み立て表示を更新できません（%(error)s）。"),
            "notObject": _("高度な表示の内容がレイアウト定義（JSONオブジェクト）ではありません。"),
            "meaning": _("意味"), "address": _("住所（支援措置の対象世帯ではマスク）"),
            "actions": _("操作"), "fixedOnly": _("固定長のみ"),
        },
    }

"""外字 (R5.6): per-tenant conversion of local code points (PUA / vendor codes) to UCS (+IVS).

Vendor 外字 in CP932 (user-defined area F040–F9FC) decode to the Private Use Area (U+E000–U+E757), so
every local character a file can carry is a PUA code point: BMP PUA U+E000–U+F8FF or planes 15/16.
Mapped characters are replaced; unknown ones are reported (never dropped).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _

PUA_RE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")


def is_pua(ch: str) -> bool:
    return bool(PUA_RE.fullmatch(ch))


def code_points(text: str) -> list[dict]:
    """For staff screens: each character with its code point(s) (IVS shown with its base), name, PUA flag."""
    result: list[dict] = []
    for ch in text or "":
        cp = ord(ch)
        if result and (0xE0100 <= cp <= 0xE01EF or 0xFE00 <= cp <= 0xFE0F):
            result[-1]["char"] += ch
            result[-1]["codes"].append(f"U+{cp:04X}")
            result[-1]["ivs"] = True
            continue
        result.append({"char": ch, "codes": [f"U+{cp:04X}"], "name": unicodedata.name(ch, ""),
                       "pua": is_pua(ch), "ivs": False})
    for item in result:
        item["label"] = " ".join(item["codes"])
    return result


def describe_code(ch: str) -> str:
    return " ".join(f"U+{ord(c):04X}" for c in ch)


@dataclass(frozen=True)
class GaijiRow:
    line: int
    local_code: str
    ucs: str
    mj_name: str
    note: str


def _parse_code(text: str) -> str:
    """``U+E000`` / ``E000`` / the character itself / ``U+845B U+E0102`` → the string."""
    text = text.strip()
    if not text:
        raise ValueError(_("空です"))
    if re.fullmatch(r"((U\+)?[0-9A-Fa-f]{4,6})(\s+(U\+)?[0-9A-Fa-f]{4,6})*", text) and (
        text.upper().startswith("U+") or len(text) >= 4
    ):
        chars = []
        for part in text.split():
            value = int(part.upper().removeprefix("U+"), 16)
            if value > 0x10FFFF:
                raise ValueError(_("%(code)s はUnicodeの範囲外です") % {"code": part})
            chars.append(chr(value))
        return "".join(chars)
    return text


def parse_gaiji_csv(data: bytes) -> tuple[list[GaijiRow], list[dict]]:
    """CSV with header ``外字コード,UCS,MJ文字図形名,備考`` (UTF-8, BOM allowed). Returns rows, errors."""
    errors: list[dict] = []
    rows: list[GaijiRow] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [{"line": 1, "column": "", "message": _("UTF-8として読めません（%(byte)sバイト目）")
                     % {"byte": exc.start + 1}}]
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        return [], [{"line": 1, "column": "", "message": _("ファイルが空です")}]
    seen: dict[str, int] = {}
    # Column names for the errors (the file's header is not checked, these name its columns on screen).
    local_column, mj_column = _("外字コード"), _("MJ文字図形名")
    for line_no, record in enumerate(reader, start=2):
        if not any(v.strip() for v in record):
            continue
        if len(record) < 2:
            errors.append({"line": line_no, "column": "",
                           "message": _("項目数が足りません（外字コード,UCS が必要です）")})
            continue
        record = record + [""] * (4 - len(record))
        try:
            local = _parse_code(record[0])
        except ValueError as exc:
            errors.append({"line": line_no, "column": local_column, "message": str(exc)})
            continue
        if len(local) != 1 or not is_pua(local):
            errors.append({"line": line_no, "column": local_column,
                           "message": _("外字コードは私用領域の1文字にしてください（%(code)s）")
                           % {"code": describe_code(local)}})
            continue
        try:
            ucs = _parse_code(record[1])
        except ValueError as exc:
            errors.append({"line": line_no, "column": "UCS", "message": str(exc)})
            continue
        if any(is_pua(ch) for ch in ucs):
            errors.append({"line": line_no, "column": "UCS",
                           "message": _("変換先に私用領域の文字が含まれています（%(code)s）")
                           % {"code": describe_code(ucs)}})
            continue
        mj = record[2].strip()
        if mj and not re.fullmatch(r"MJ\d{6}", mj):
            errors.append({"line": line_no, "column": mj_column,
                           "message": _("MJ文字図形名「%(name)s」は MJ＋6桁の数字 ではありません") % {"name": mj}})
            continue
        if local in seen:
            errors.append({"line": line_no, "column": local_column,
                           "message": _("%(code)s は %(line)s 行目と重複しています")
                           % {"code": describe_code(local), "line": seen[local]}})
            continue
        seen[local] = line_no
        rows.append(GaijiRow(line_no, local, ucs, mj, record[3].strip()[:100]))
    return rows, errors


class GaijiConverter:
    """Replace mapped PUA characters; report the unmapped ones."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping
        self.table = str.maketrans(mapping) if mapping else {}

    def convert(self, value: str) -> tuple[str, list[str]]:
        """Return the converted value and the list of unknown PUA characters left in it."""
        if self.table:
            value = value.translate(self.table)
        return value, PUA_RE.findall(value)

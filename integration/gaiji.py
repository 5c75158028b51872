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


# Headers of the 外字 table (full-width parentheses accepted). The first column names its code system: values
# written ``U+E000`` / ``SJIS:F040`` say it themselves; under 「外字コード(SJIS)」 a bare ``F040`` is the vendor's
# CP932 code (user-defined area F040–F9FC, decoded to U+E000–U+E757), under 「外字コード(Unicode)」 a bare
# ``E000`` is a code point; under plain 「外字コード」 a bare hex code is refused (``F040`` was read as U+F040).
LOCAL_HEADERS = {"外字コード": None, "外字コード(UNICODE)": "unicode", "外字コード(UCS)": "unicode",
                 "外字コード(SJIS)": "sjis", "外字コード(CP932)": "sjis", "外字コード(SHIFT_JIS)": "sjis"}
OTHER_HEADERS = ("UCS", "MJ文字図形名", "備考")
_SJIS_PREFIX = re.compile(r"^(?:SJIS|CP932|SHIFT_JIS)[:：]\s*([0-9A-Fa-f]{4})$", re.IGNORECASE)
_BARE_HEX = re.compile(r"^(?:0x)?([0-9A-Fa-f]{4,6})$")


def _header_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().replace(" ", "").upper()


def _parse_local(text: str, system: str | None) -> str:
    """The local (外字) code of a line in the table's code system."""
    text = text.strip()
    found = _SJIS_PREFIX.match(text)
    bare = _BARE_HEX.match(text)
    if bare and system is None:
        raise ValueError(_("「%(code)s」はどの文字コードの番号か分かりません。U+E000（Unicode）か SJIS:F040"
                           "（CP932の外字コード）と書くか、見出しを「外字コード(SJIS)」または"
                           "「外字コード(Unicode)」にしてください") % {"code": text})
    if found or (bare and system == "sjis"):
        code = (found or bare).group(1).upper()
        value = int(code, 16)
        if len(code) != 4 or not (0xF0 <= value >> 8 <= 0xF9 and 0x40 <= value & 0xFF <= 0xFC
                                  and value & 0xFF != 0x7F):
            raise ValueError(_("%(code)s はCP932の外字領域（F040〜F9FC）のコードではありません") % {"code": code})
        return bytes.fromhex(code).decode("cp932")
    if bare and system == "unicode":
        return chr(int(bare.group(1), 16))
    return _parse_code(text)


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
    # Column names for the errors.
    local_column, mj_column = _("外字コード"), _("MJ文字図形名")
    keys = [_header_key(name) for name in header]
    system = LOCAL_HEADERS.get(keys[0], "?")
    for index, key in enumerate(keys):
        if (index == 0 and key in LOCAL_HEADERS) or (index and key in OTHER_HEADERS and keys.index(key) == index):
            continue
        known = ", ".join([next(iter(LOCAL_HEADERS)), *OTHER_HEADERS])
        errors.append({"line": 1, "column": _("%(index)s列目") % {"index": index + 1},
                       "message": _("見出し「%(name)s」は外字変換表の項目ではありません（1列目は 外字コード、"
                                    "ほかは %(known)s）") % {"name": header[index].strip(), "known": known}})
    if "UCS" not in keys:
        errors.append({"line": 1, "column": "", "message": _("見出しに「UCS」（変換先）の列がありません")})
    if errors or system == "?":
        return [], errors
    position = {key: keys.index(key) for key in OTHER_HEADERS if key in keys}
    for line_no, record in enumerate(reader, start=2):
        if not any(v.strip() for v in record):
            continue
        if len(record) < 2:
            errors.append({"line": line_no, "column": "",
                           "message": _("項目数が足りません（外字コード,UCS が必要です）")})
            continue
        record = record + [""] * (len(keys) - len(record))
        record = [record[0], *(record[position[key]] if key in position else "" for key in OTHER_HEADERS)]
        try:
            local = _parse_local(record[0], system)
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

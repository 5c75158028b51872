"""Normalisation of names, kana and addresses for search and matching.

Rules: NFKC (full/half width), hiragana → katakana, spaces removed, small kana kept, old character
forms (旧字体・異体字) folded to the common form. The same function is applied when data is imported
(to fill the search columns) and to what staff type, so both sides meet.

Addresses are stored for search without the municipality's own 都道府県+市区町村 (``local_address``): those
characters start nearly every resident's address, so their trigrams select nothing and cost the most in the
trigram index. ``integration.search.address_condition`` turns a typed address into the condition that finds
exactly the rows whose full normalised address contains it.
"""

from __future__ import annotations

import re
import unicodedata

# Old/variant forms seen in resident names → the common form used for search only.
_VARIANTS = {
    "髙": "高", "﨑": "崎", "嵜": "崎", "邊": "辺", "邉": "辺", "齋": "斎", "齊": "斉", "澤": "沢", "濱": "浜",
    "國": "国", "廣": "広", "櫻": "桜", "德": "徳", "眞": "真", "實": "実", "壽": "寿", "惠": "恵", "藏": "蔵",
    "龍": "竜", "曻": "昇", "淺": "浅", "關": "関", "檜": "桧", "籠": "篭", "禮": "礼", "彌": "弥", "榮": "栄",
    "冨": "富", "嶋": "島", "嶌": "島", "峯": "峰", "舘": "館", "萬": "万", "團": "団", "學": "学", "圓": "円",
    "縣": "県", "條": "条", "來": "来", "瀨": "瀬", "靜": "静", "會": "会", "與": "与",
    "晉": "晋", "廳": "庁", "將": "将", "恆": "恒", "凜": "凛", "瑤": "瑶", "堯": "尭", "槇": "槙", "蘆": "芦",
    "𠮷": "吉", "鷗": "鴎", "顯": "顕",
}
_VARIANT_TABLE = str.maketrans(_VARIANTS)
_HIRA_START, _HIRA_END = 0x3041, 0x3096


_SELECTORS_RE = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_KATAKANA_TABLE = {code: code + 0x60 for code in range(_HIRA_START, _HIRA_END + 1)}


def strip_ivs(text: str) -> str:
    """Drop variation selectors (IVS U+E0100–E01EF, SVS U+FE00–FE0F): search ignores glyph variants."""
    return _SELECTORS_RE.sub("", text)


def to_katakana(text: str) -> str:
    """Hiragana → katakana (U+3041–U+3096 shifted by 0x60), everything else unchanged."""
    return text.translate(_KATAKANA_TABLE)


def normalize_name(text: str | None) -> str:
    """氏名 for search: NFKC, no spaces, variant forms folded, kana as katakana."""
    if not text:
        return ""
    value = unicodedata.normalize("NFKC", strip_ivs(text))
    value = value.translate(_VARIANT_TABLE)
    value = to_katakana(value)
    return "".join(value.split()).replace("・", "").lower()


def normalize_kana(text: str | None) -> str:
    """フリガナ for search: NFKC (half-width → full-width), hiragana → katakana, no spaces."""
    if not text:
        return ""
    value = to_katakana(unicodedata.normalize("NFKC", text))
    return "".join(value.split()).replace("・", "")


# Starts a stored search address whose municipality prefix was taken off (never in a normalised address: a
# control character, removed by normalize_address; not a word character for pg_trgm, so it adds no trigram).
LOCAL_MARK = "\x01"


def normalize_address(text: str | None) -> str:
    """住所 for search: NFKC, no spaces, dash variants unified, 丁目/番地/番/号 kept as written."""
    if not text:
        return ""
    value = unicodedata.normalize("NFKC", strip_ivs(text)).translate(_VARIANT_TABLE)
    for dash in ("‐", "―", "－", "ー", "−", "—", "–"):
        value = value.replace(dash, "-")
    return "".join(value.split()).replace(LOCAL_MARK, "")


def municipality_prefix(municipality: object) -> str:
    """The municipality's own 都道府県+市区町村 as its residents' addresses start (normalised), or "" if unknown."""
    prefecture = getattr(municipality, "prefecture", "") or ""
    name = getattr(municipality, "name", "") or ""
    if not name:
        return ""
    return normalize_address(name if name.startswith(prefecture) else prefecture + name)


def local_address(normalized: str, prefix: str) -> str:
    """The stored search text of a normalised address: without the municipality's prefix (marked by
    LOCAL_MARK) when it starts with it, else the whole text (転出先, an address written without 都道府県…)."""
    if prefix and normalized.startswith(prefix):
        return LOCAL_MARK + normalized[len(prefix):]
    return normalized

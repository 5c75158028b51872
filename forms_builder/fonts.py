"""Fonts for printing forms: which characters they can draw, and how wide a text is.

Names and addresses print in IPAmj明朝 first (about 58,000 MJ glyphs with their IVS variants, so 𠮷, 髙 and
葛󠄂 print as themselves), then IPAex明朝; labels in IPAexゴシック with IPAmj明朝 behind it. The fonts are the
Debian packages fonts-ipamj-mincho and fonts-ipaexfont (``.ci/system-deps.sh``); nothing is fetched.

``check_text`` finds characters no font of the stack has — and IVS sequences whose variant the font does
not have, which a renderer would otherwise print silently as the base glyph.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

IPAMJ = Path("/usr/share/fonts/truetype/ipamj/ipamjm.ttf")
IPAEX_MINCHO = Path("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf")
IPAEX_GOTHIC = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")

# CSS font-family stacks (fontconfig family names).
STACKS = {
    "mincho": ("IPAmjMincho", "IPAexMincho"),
    "gothic": ("IPAexGothic", "IPAmjMincho"),
}
FILES = {"IPAmjMincho": IPAMJ, "IPAexMincho": IPAEX_MINCHO, "IPAexGothic": IPAEX_GOTHIC}
PT_TO_MM = 25.4 / 72


def is_variation_selector(char: str) -> bool:
    code = ord(char)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


@dataclass(frozen=True)
class FontData:
    cmap: dict[int, str]
    advances: dict[str, int]
    upem: int
    variants: frozenset[tuple[int, int]]  # (base, selector) pairs the font draws


@lru_cache(maxsize=8)
def font_data(family: str) -> FontData:
    from fontTools.ttLib import TTFont

    path = FILES[family]
    font = TTFont(str(path), lazy=True)
    cmap = dict(font.getBestCmap())
    hmtx = font["hmtx"]
    advances = {name: hmtx[name][0] for name in set(cmap.values())}
    variants = set()
    for table in font["cmap"].tables:
        if table.format == 14:
            for selector, pairs in table.uvsDict.items():
                variants.update((base, selector) for base, _glyph in pairs)
    upem = font["head"].unitsPerEm
    font.close()
    return FontData(cmap=cmap, advances=advances, upem=upem, variants=frozenset(variants))


def graphemes(text: str) -> list[str]:
    """Characters with their variation selector attached (what one 枡目 or one glyph holds)."""
    result: list[str] = []
    for char in text:
        if result and is_variation_selector(char):
            result[-1] += char
        else:
            result.append(char)
    return result


def _family_for(grapheme: str, stack: str) -> str | None:
    base = ord(grapheme[0])
    selector = ord(grapheme[1]) if len(grapheme) > 1 else None
    for family in STACKS[stack]:
        data = font_data(family)
        if base not in data.cmap:
            continue
        if selector is not None and (base, selector) not in data.variants:
            continue
        return family
    return None


def check_text(text: str, *, stack: str = "mincho") -> list[str]:
    """The graphemes of ``text`` that no font of the stack draws as themselves."""
    missing = []
    for grapheme in graphemes(text):
        if grapheme.isspace() or unicodedata.category(grapheme[0]) in ("Cc", "Cf"):
            continue
        if _family_for(grapheme, stack) is None:
            missing.append(grapheme)
    return missing


def needs_mj(grapheme: str, stack: str) -> bool:
    """True when the first font of the stack cannot draw this grapheme as itself but IPAmj明朝 can."""
    return _family_for(grapheme, stack) == "IPAmjMincho" and STACKS[stack][0] != "IPAmjMincho"


def text_width_mm(text: str, size_pt: float, *, stack: str = "mincho") -> float:
    total = 0.0
    for grapheme in graphemes(text):
        family = _family_for(grapheme, stack) or STACKS[stack][0]
        data = font_data(family)
        glyph = data.cmap.get(ord(grapheme[0]))
        advance = data.advances.get(glyph, data.upem) if glyph else data.upem
        total += advance / data.upem
    return total * size_pt * PT_TO_MM


def describe(grapheme: str) -> str:
    """「𠮷」(U+20BB7) — for messages."""
    codes = " ".join(f"U+{ord(c):04X}" for c in grapheme)
    return f"「{grapheme}」（{codes}）"

"""Fonts for printing forms: which characters they can draw, and how wide a text is.

Names and addresses print in IPAmj明朝 first (about 58,000 MJ glyphs with their IVS variants, so 𠮷, 髙 and
葛󠄂 print as themselves), then IPAex明朝; labels in IPAexゴシック with IPAmj明朝 behind it. The fonts are the
Debian packages fonts-ipamj-mincho and fonts-ipaexfont (``.ci/system-deps.sh``); nothing is fetched.

``check_text`` finds characters no font of the stack has — and IVS sequences whose variant the font does
not have, which a renderer would otherwise print silently as the base glyph.

Speed (issue 12): WeasyPrint copies every font a PDF uses into Python and subsets it, and IPAmj明朝 is 46 MB —
about 100–250 ms of every PDF. ``derived_fonts`` therefore cuts IPAmj明朝, once per machine, into small fonts
with the same glyphs (outlines and advances copied unchanged by HarfBuzz's subsetter, so what prints is
identical): ``MadoguchiMj00``, the common font (JIS X 0213 plane 1, i.e. JIS X 0208 levels 1 and 2 plus level 3,
kana, symbols, ASCII, half- and full-width forms and a few frequent 人名 variants such as 髙 and 𠮷), and
``MadoguchiMj01``… slices of the rest by code point (each rare MJ character, and every character with IVS variants
together with all its variants). ``mj_part`` says which one holds a grapheme; the renderer sends the grapheme
there, with the full IPAmj明朝 behind it as the CSS fallback. The fonts are built from the installed package
(nothing is fetched) into ``settings.FORMS_FONT_DIR`` (not committed; CI builds them on first use). Licence: the
IPA Font License v1.0 allows creating and using a derived program (Art. 2.7); its conditions for redistributing
one (Art. 3.1) do not apply as we never distribute them, and they are named without "IPA" anyway (Art. 3.1 (4)).
PDFs embedding subsets are digital document files (Art. 2.5).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

logger = logging.getLogger(__name__)

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

# The small fonts derived from IPAmj明朝 (see the module docstring). Change the recipe when the cut changes.
DERIVED = "MadoguchiMj"
DERIVED_RECIPE = "2:hb-subset;common=euc_jis_2004-2byte+ascii+cjk+kana+forms+names;slices=3000"
SLICE_SIZE = 3000


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


def family_for(grapheme: str, stack: str) -> str | None:
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
        if family_for(grapheme, stack) is None:
            missing.append(grapheme)
    return missing


def needs_mj(grapheme: str, stack: str) -> bool:
    """True when the first font of the stack cannot draw this grapheme as itself but IPAmj明朝 can."""
    return family_for(grapheme, stack) == "IPAmjMincho" and STACKS[stack][0] != "IPAmjMincho"


def text_width_mm(text: str, size_pt: float, *, stack: str = "mincho") -> float:
    total = 0.0
    for grapheme in graphemes(text):
        family = family_for(grapheme, stack) or STACKS[stack][0]
        data = font_data(family)
        glyph = data.cmap.get(ord(grapheme[0]))
        advance = data.advances.get(glyph, data.upem) if glyph else data.upem
        total += advance / data.upem
    return total * size_pt * PT_TO_MM


def describe(grapheme: str) -> str:
    """「𠮷」(U+20BB7) — for messages."""
    codes = " ".join(f"U+{ord(c):04X}" for c in grapheme)
    return f"「{grapheme}」（{codes}）"


# ---------------------------------------------------------------------------------------------
# Small fonts derived from IPAmj明朝
# ---------------------------------------------------------------------------------------------
# Frequent 人名 variants outside JIS X 0213 plane 1, kept in the common font so most names need no slice.
NAME_VARIANTS = "髙𠮷﨑德濵槗塚"


@lru_cache(maxsize=1)
def common_codepoints() -> frozenset[int]:
    """The code points of the common font: JIS X 0213 plane 1 (two-byte EUC-JIS-2004, which holds JIS X 0208
    levels 1 and 2), ASCII, CJK symbols and kana, half- and full-width forms and ``NAME_VARIANTS`` — those
    IPAmj明朝 has and draws with its default glyph (no IVS sequence)."""
    wanted = set(range(0x20, 0x7F)) | set(range(0x3000, 0x3100)) | set(range(0xFF01, 0xFFA0))
    wanted.update(ord(c) for c in NAME_VARIANTS)
    for high in range(0xA1, 0xFF):
        for low in range(0xA1, 0xFF):
            try:
                wanted.update(ord(c) for c in bytes((high, low)).decode("euc_jis_2004"))
            except UnicodeDecodeError:
                continue
    return frozenset(wanted & set(font_data("IPAmjMincho").cmap))


@lru_cache(maxsize=1)
def _slices() -> tuple[tuple[int, ...], ...]:
    """The rest of IPAmj明朝 cut into slices by code point: every character outside the common font, and every
    character with IVS variants (a slice holds a base character together with all its variants)."""
    data = font_data("IPAmjMincho")
    bases = sorted((set(data.cmap) - common_codepoints()) | {base for base, _selector in data.variants})
    return tuple(tuple(bases[i : i + SLICE_SIZE]) for i in range(0, len(bases), SLICE_SIZE))


@lru_cache(maxsize=1)
def _slice_of() -> dict[int, int]:
    return {base: index for index, bases in enumerate(_slices(), start=1) for base in bases}


def mj_part(grapheme: str) -> int:
    """Which derived font draws this grapheme exactly as IPAmj明朝 does: 0 for the common font (one code point
    of ``common_codepoints``), else the slice of its base character (IVS sequences always go to a slice)."""
    if len(grapheme) == 1 and ord(grapheme) in common_codepoints():
        return 0
    return _slice_of().get(ord(grapheme[0]), 0)


def derived_family(part: int) -> str:
    return f"{DERIVED}{part:02d}"


def derived_count() -> int:
    return 1 + len(_slices())


def _font_dir() -> Path:
    from django.conf import settings

    return Path(getattr(settings, "FORMS_FONT_DIR", Path(tempfile.gettempdir()) / "madoguchi-fonts"))


def derived_fonts() -> list[Path]:
    """The derived fonts' files (common first, then the slices), built on first use (a few seconds, once per
    machine) and reused while IPAmj明朝 and the recipe are unchanged."""
    stat = IPAMJ.stat()
    key = hashlib.sha256(f"{DERIVED_RECIPE}|{stat.st_size}|{int(stat.st_mtime)}".encode()).hexdigest()[:16]
    root = _font_dir()
    folder = root / f"mj-{key}"
    paths = [folder / f"{derived_family(part).lower()}.ttf" for part in range(derived_count())]
    if folder.is_dir():
        return paths
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several workers starting at once build it once
        if not folder.is_dir():
            partial = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
            partial.chmod(0o755)
            try:
                parts = [sorted(common_codepoints()), *_slices()]
                for part, codepoints in enumerate(parts):
                    (partial / paths[part].name).write_bytes(_derive(codepoints, derived_family(part)))
                os.replace(partial, folder)
            finally:
                if partial.exists():
                    import shutil

                    shutil.rmtree(partial, ignore_errors=True)
            logger.info("built %d fonts derived from %s in %s", len(parts), IPAMJ, folder)
    return paths


_HB_CDEF = """
typedef struct hb_blob_t hb_blob_t; typedef struct hb_face_t hb_face_t; typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
hb_blob_t *hb_blob_create_from_file_or_fail (const char *file_name);
void hb_blob_destroy (hb_blob_t *blob);
const char *hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create (hb_blob_t *blob, unsigned int index);
void hb_face_destroy (hb_face_t *face);
hb_blob_t *hb_face_reference_blob (hb_face_t *face);
void hb_set_add (hb_set_t *set, uint32_t codepoint);
void hb_set_add_range (hb_set_t *set, uint32_t first, uint32_t last);
hb_subset_input_t *hb_subset_input_create_or_fail (void);
void hb_subset_input_destroy (hb_subset_input_t *input);
void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned int value);
hb_set_t *hb_subset_input_unicode_set (hb_subset_input_t *input);
hb_set_t *hb_subset_input_set (hb_subset_input_t *input, int set_type);
hb_face_t *hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
"""
_HB_NO_HINTING = 0x1  # WeasyPrint drops hinting when it embeds a font anyway
_HB_SETS_NAME_ID = 4


def _derive(codepoints: list[int] | tuple[int, ...], family: str) -> bytes:
    """IPAmj明朝 cut to ``codepoints`` (with their IVS variants and layout closure) by HarfBuzz's subsetter —
    the glyph outlines are copied unchanged — and renamed ``family``."""
    import io

    import cffi
    from fontTools.ttLib import TTFont

    ffi = cffi.FFI()
    ffi.cdef(_HB_CDEF)
    hb, hb_subset = ffi.dlopen("libharfbuzz.so.0"), ffi.dlopen("libharfbuzz-subset.so.0")
    blob = hb.hb_blob_create_from_file_or_fail(str(IPAMJ).encode())
    if blob == ffi.NULL:
        raise OSError(f"cannot read {IPAMJ}")
    face = hb.hb_face_create(blob, 0)
    request = hb_subset.hb_subset_input_create_or_fail()
    try:
        hb_subset.hb_subset_input_set_flags(request, _HB_NO_HINTING)
        unicodes = hb_subset.hb_subset_input_unicode_set(request)
        for codepoint in codepoints:
            hb.hb_set_add(unicodes, codepoint)
        hb.hb_set_add_range(hb_subset.hb_subset_input_set(request, _HB_SETS_NAME_ID), 0, 25)  # keep the licence
        result = hb_subset.hb_subset_or_fail(face, request)
        if result == ffi.NULL:
            raise OSError(f"HarfBuzz could not subset {IPAMJ}")
        out = hb.hb_face_reference_blob(result)
        length = ffi.new("unsigned int *")
        data = bytes(ffi.buffer(hb.hb_blob_get_data(out, length), length[0]))
        hb.hb_blob_destroy(out)
        hb.hb_face_destroy(result)
    finally:
        hb_subset.hb_subset_input_destroy(request)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)
    font = TTFont(io.BytesIO(data))
    names = font["name"]
    # A derived font may not carry the original's name (IPA Font License v1.0, Art. 3.1 (4)).
    for name_id in (1, 2, 3, 4, 6, 16, 17, 18, 21, 22):
        names.removeNames(nameID=name_id)
    for name_id, value in ((1, family), (2, "Regular"), (3, f"{family};{DERIVED_RECIPE}"), (4, family),
                           (6, family), (10, "Derived from IPAmj Mincho (IPA Font License v1.0) by Madoguchi for "
                                             "printing forms; not for redistribution.")):
        names.setName(value, name_id, 3, 1, 0x409)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()

"""The small fonts derived from IPAmj明朝 for printing (issue 12, speed): they draw every character and every IVS
variant exactly as IPAmj明朝 does (same outlines, same advance), each grapheme is sent to the one that holds it,
they do not carry the IPA font's name (IPA Font License v1.0, Art. 3.1 (4)), and printing still shows variants as
themselves when the derived fonts cannot be built. Also the page's ruled lines, now one SVG drawing per page."""

from __future__ import annotations

import pytest
from test_forms_render import difference, glyph_image, ink

IVS_KUZU = "葛\U000E0102"  # Moji_Joho variant MJ022335, not the default 葛


@pytest.fixture(scope="module")
def derived():  # noqa: ANN201
    from fontTools.ttLib import TTFont

    from forms_builder import fonts

    return [TTFont(str(path), lazy=True) for path in fonts.derived_fonts()]


@pytest.fixture(scope="module")
def ipamj():  # noqa: ANN201
    from fontTools.ttLib import TTFont

    from forms_builder import fonts

    return TTFont(str(fonts.IPAMJ), lazy=True)


def _glyph_name(font, grapheme: str) -> str | None:  # noqa: ANN001
    if len(grapheme) == 2:
        for table in font["cmap"].tables:
            if table.format == 14:
                for base, glyph in table.uvsDict.get(ord(grapheme[1]), []):
                    if base == ord(grapheme[0]):
                        return glyph or font.getBestCmap().get(base)
        return None
    return font.getBestCmap().get(ord(grapheme))


def _outline(font, name: str) -> tuple:  # noqa: ANN001
    glyf = font["glyf"]
    coordinates, ends, flags = glyf[name].getCoordinates(glyf)
    return list(coordinates), list(ends), list(flags), font["hmtx"][name][0]


@pytest.mark.parametrize("grapheme", ["あ", "ア", "A", "1", "漢", "髙", "𠮷", "𩸽", "邊", IVS_KUZU, "葛"])
def test_a_derived_font_draws_the_grapheme_with_ipamj_outline_and_advance(grapheme, derived, ipamj):
    from forms_builder import fonts

    part = fonts.mj_part(grapheme)
    name = _glyph_name(derived[part], grapheme)
    assert name is not None, f"{fonts.describe(grapheme)} is not in {fonts.derived_family(part)}"
    assert _outline(derived[part], name) == _outline(ipamj, _glyph_name(ipamj, grapheme))


def test_every_ipamj_character_and_ivs_variant_is_in_the_font_it_is_sent_to(derived):
    from forms_builder import fonts

    data = fonts.font_data("IPAmjMincho")
    cmaps = [set(font.getBestCmap()) for font in derived]
    variants = []
    for font in derived:
        pairs = set()
        for table in font["cmap"].tables:
            if table.format == 14:
                pairs.update((base, selector) for selector, items in table.uvsDict.items() for base, _g in items)
        variants.append(pairs)
    assert [c for c in data.cmap if c not in cmaps[fonts.mj_part(chr(c))]] == []
    assert [p for p in data.variants if p not in variants[fonts.mj_part(chr(p[0]) + chr(p[1]))]] == []
    # IVS sequences never go to the common font (Pango would print its base glyph), rare characters neither.
    assert fonts.mj_part(IVS_KUZU) > 0 and fonts.mj_part("𩸽") > 0
    assert fonts.mj_part("葛") == 0 and fonts.mj_part("薩") == 0


def test_derived_fonts_do_not_carry_the_ipa_font_name(derived):
    for font in derived:
        for record in font["name"].names:
            if record.nameID in (1, 3, 4, 6, 16, 17):
                assert "IPA" not in record.toUnicode(), record


def test_names_go_to_the_derived_font_that_holds_each_grapheme():
    from forms_builder import fonts
    from forms_builder import render as r

    html = r._glyph_html(f"薩摩 {IVS_KUZU}𩸽", "mincho")
    assert html.startswith("薩摩 ")  # the common font is the stack's first family
    assert f'<span class="mj{fonts.mj_part(IVS_KUZU)}">{IVS_KUZU}</span>' in html
    assert f'<span class="mj{fonts.mj_part("𩸽")}">𩸽</span>' in html
    # In the ゴシック stack only what IPAexゴシック lacks goes to IPAmj明朝's derived fonts.
    assert r._glyph_html("届出", "gothic") == "届出"
    assert r._glyph_html(IVS_KUZU, "gothic") == f'<span class="mj{fonts.mj_part(IVS_KUZU)}">{IVS_KUZU}</span>'


def test_the_stylesheet_fetches_only_the_derived_fonts():
    from forms_builder import render as r

    fetcher = r._font_fetcher({})
    for url in ("madoguchi-font:MadoguchiMj00", "file:///etc/passwd", "https://example.com/font.ttf"):
        with pytest.raises(ValueError, match="外部リソース"):
            fetcher.fetch(url)


def test_without_derived_fonts_variants_still_print_as_themselves(monkeypatch):
    from forms_builder import fonts
    from forms_builder import render as r

    def unavailable() -> list:
        raise OSError("read-only disk")

    monkeypatch.setattr(fonts, "derived_fonts", unavailable)
    monkeypatch.setattr(r, "_ENGINES", type(r._ENGINES)())  # a fresh engine without the derived fonts
    plan_v, image_v = glyph_image(IVS_KUZU)
    _plan_b, image_b = glyph_image("葛")
    assert plan_v.problems == [] and ink(image_v) > 200
    assert difference(image_v, image_b) > 0.05


def test_a_name_with_rare_characters_prints_from_the_derived_fonts_not_the_46_mb_font():
    import io

    import pdfplumber
    from test_forms_render import person, render

    from forms_builder import fonts

    fields = [{"type": "text", "key": "name", "label": "氏名", "binding": "person.name", "x": 20, "y": 20, "w": 120,
               "h": 12, "size": 14}]
    plan, pdf = render(fields, [person(name=f"髙橋 {IVS_KUZU}𩸽")])
    assert plan.problems == []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        used = {c["text"][0]: c["fontname"].split("+")[-1] for c in doc.pages[0].chars}
    assert used["髙"] == used["橋"] == fonts.derived_family(0)
    assert used["𩸽"] == fonts.derived_family(fonts.mj_part("𩸽"))
    assert used["葛"] == fonts.derived_family(fonts.mj_part(IVS_KUZU))
    assert not any(name.startswith("IPAmj") for name in used.values())


def test_ruled_lines_print_where_the_frames_and_cells_are():
    """Frames and 枡目 are drawn as one SVG of lines per page (speed): still each border where its box is."""
    import io

    import pdfplumber
    from test_forms_render import MM, person, render

    fields = [
        {"type": "boxes", "key": "zip", "label": "郵便番号", "binding": "person.atena_no", "x": 20, "y": 20, "w": 30,
         "h": 10, "cells": 3, "optional": True},
        {"type": "frame", "x": 60, "y": 20, "w": 40, "h": 15, "border": "bottom", "text": "住所"},
        {"type": "frame", "x": 110, "y": 20, "w": 30, "h": 12, "text": "氏名"},
    ]
    _plan, pdf = render(fields, [person()])
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        edges = [(e["x0"] / MM, e["top"] / MM, e["x1"] / MM, e["bottom"] / MM) for e in page.edges]
        caption = [c for c in page.chars if c["text"] in "住氏"]

    def has(x0: float, y0: float, x1: float, y1: float) -> bool:  # an edge along this segment (±0.3 mm)
        return any(abs(a - x0) < 0.3 and abs(b - y0) < 0.3 and abs(c - x1) < 0.3 and abs(d - y1) < 0.3
                   for a, b, c, d in edges)

    for cell in range(3):  # each 10 mm 枡目 framed by a 0.2 mm line inside it
        left, right = 20 + 10 * cell + 0.1, 30 + 10 * cell - 0.1
        assert has(left, 20.1, left, 29.9) and has(right, 20.1, right, 29.9), cell
        assert has(left, 20.1, right, 20.1) and has(left, 29.9, right, 29.9), cell
    assert has(60, 34.875, 100, 34.875)  # the bottom border only
    assert not any(abs(b - 20.125) < 0.3 and a > 59 and c < 101 for a, b, c, d in edges)
    assert has(110.125, 20.125, 139.875, 20.125) and has(139.875, 20.125, 139.875, 31.875)
    # Captions sit inside their frames' top-left corner, as before.
    assert {c["text"] for c in caption} == {"住", "氏"}
    for char in caption:
        left = 60 if char["text"] == "住" else 110.25
        assert left + 0.7 <= char["x0"] / MM <= left + 1.2 and char["top"] / MM < 20 + 2.5

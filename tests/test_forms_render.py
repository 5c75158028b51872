"""Rendering: every bound value's characters inside its box (pdfplumber), option marks by position, glyphs
by pixels (𠮷, a Moji_Joho IVS variant, a mapped 外字), and the fit-or-flag rule."""

from __future__ import annotations

import io
import subprocess
import tempfile
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pdfplumber
import pytest

MM = 72 / 25.4  # points per mm


def person(**kwargs):  # noqa: ANN003,ANN201
    base = {"pk": 1, "key": "new-1", "atena_no": "", "name": "窓口 太郎", "name_kana": "マドグチ タロウ",
            "birth_date": date(1984, 5, 10), "sex": "1", "relationship": "世帯主", "is_visitor": True,
            "is_subject": True, "position": 0}
    base.update(kwargs)
    return SimpleNamespace(**base)


def ctx_for(people, *, gaiji=None):  # noqa: ANN001,ANN201
    from forms_builder import sources as src

    return src.BindingContext(case=None, persons=people, doc_persons=people, person=people[0],
                              extra={"gaiji": gaiji or {}})


def version(fields, *, scope="case"):  # noqa: ANN001,ANN201
    template = SimpleNamespace(code="t", name="試験様式", scope=scope)
    return SimpleNamespace(pk=None, number=1, template=template, page_size="A4", orientation="portrait",
                           background_id=None, fields=fields, html="")


def render(fields, people, **kwargs):  # noqa: ANN001,ANN003,ANN201
    from forms_builder import render as r

    plan = r.plan_document(version=version(fields), ctx=ctx_for(people, **kwargs))
    pdf, _pages = r.render_pdf([plan])
    return plan, pdf


def chars_in(pdf: bytes, box: tuple[float, float, float, float]) -> list[dict]:
    x, y, w, h = (v * MM for v in box)
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        return [c for c in page.chars if c["x0"] >= x - 0.5 and c["x1"] <= x + w + 0.5
                and c["top"] >= y - 0.5 and c["bottom"] <= y + h + 0.5]


def test_each_value_prints_in_order_inside_its_box_including_boxes_and_vertical_text():
    fields = [
        {"type": "text", "key": "name", "label": "氏名", "binding": "person.name", "x": 20, "y": 20, "w": 70, "h": 10,
         "size": 14},
        {"type": "text", "key": "kana", "label": "フリガナ", "binding": "person.name_kana", "x": 20, "y": 32, "w": 70,
         "h": 6, "size": 9},
        {"type": "boxes", "key": "birth", "label": "生年月日", "binding": "person.birth_date|ymd", "cells": 8,
         "x": 20, "y": 45, "w": 48, "h": 8},
        {"type": "boxes", "key": "zip", "label": "郵便番号", "binding": "person.birth_date|ymd", "cells": 10,
         "x": 20, "y": 60, "w": 60, "h": 8, "align": "right"},
        {"type": "text", "key": "vertical", "label": "縦書き氏名", "binding": "person.name", "vertical": True,
         "x": 150, "y": 20, "w": 12, "h": 80},
        {"type": "text", "key": "wareki", "label": "和暦", "binding": "person.birth_date|wareki", "x": 20, "y": 75,
         "w": 60, "h": 8},
    ]
    people = [person()]
    plan, pdf = render(fields, people)
    assert plan.problems == []
    expected = {"name": "窓口太郎", "kana": "マドグチタロウ", "birth": "19840510", "zip": "19840510",
                "vertical": "窓口太郎", "wareki": "昭和59年5月10日"}
    for result in plan.results:
        found = chars_in(pdf, result.box)
        order = sorted(found, key=lambda c: (c["top"], c["x0"])) if result.key == "vertical" else sorted(
            found, key=lambda c: c["x0"])
        assert "".join(c["text"] for c in order).replace(" ", "") == expected[result.key], result.key
    # 枡目: one digit per cell, in the cells' order; right-aligned leaves the first two cells empty.
    birth = sorted(chars_in(pdf, (20, 45, 48, 8)), key=lambda c: c["x0"])
    for index, char in enumerate(birth):
        centre = (char["x0"] + char["x1"]) / 2 / MM
        assert 20 + index * 6 < centre < 20 + (index + 1) * 6
    zip_chars = sorted(chars_in(pdf, (20, 60, 60, 8)), key=lambda c: c["x0"])
    assert zip_chars[0]["x0"] / MM > 20 + 2 * 6
    # 縦書き: one glyph under the other, in one column.
    column = sorted(chars_in(pdf, (150, 20, 12, 80)), key=lambda c: c["top"])
    assert len({round(c["x0"]) for c in column}) == 1 and all(a["bottom"] <= b["top"] + 0.5
                                                             for a, b in zip(column, column[1:], strict=False))


def test_circle_and_check_marks_land_on_the_matching_printed_option():
    options = [{"value": "1", "x": 30, "y": 30, "w": 10, "h": 7}, {"value": "2", "x": 50, "y": 30, "w": 10, "h": 7}]
    fields = [
        {"type": "label", "text": "男", "x": 32, "y": 31, "w": 6, "h": 5},
        {"type": "label", "text": "女", "x": 52, "y": 31, "w": 6, "h": 5},
        {"type": "circle", "key": "sex", "label": "性別", "binding": "person.sex", "x": 25, "y": 28, "w": 40, "h": 11,
         "options": options},
        {"type": "check", "key": "sex2", "label": "性別（レ）", "binding": "person.sex", "x": 25, "y": 50, "w": 40,
         "h": 11, "options": [{**o, "y": 52} for o in options]},
    ]
    for sex, chosen_x in (("1", 30), ("2", 50)):
        _plan, pdf = render(fields, [person(sex=sex)])
        with pdfplumber.open(io.BytesIO(pdf)) as doc:
            page = doc.pages[0]
            curves = [c for c in page.curves if c["top"] / MM < 45]
            assert curves, "no circle drawn"
            left = min(c["x0"] for c in curves) / MM
            right = max(c["x1"] for c in curves) / MM
            assert chosen_x - 0.5 <= left and right <= chosen_x + 10.5
            checks = [c for c in page.chars if c["text"] == "レ"]
            assert len(checks) == 1 and chosen_x <= checks[0]["x0"] / MM <= chosen_x + 10


def test_a_value_that_does_not_fit_shrinks_then_is_flagged_never_clipped():
    long_name = "寿限無寿限無五劫の擦り切れ海砂利水魚の水行末雲来末風来末"
    fields = [{"type": "text", "key": "name", "label": "氏名", "binding": "person.name", "x": 20, "y": 20, "w": 40,
               "h": 8, "size": 12, "min_size": 7}]
    plan, pdf = render(fields, [person(name="窓口 太郎")])
    assert plan.results[0].size == 12 and not plan.problems
    plan, pdf = render(fields, [person(name="窓口 寿限無寿限無五劫")])
    assert 7 <= plan.results[0].size < 12 and not plan.problems
    plan, pdf = render(fields, [person(name=long_name)])
    assert plan.results[0].overflow
    assert any("氏名" in p and "収まりません" in p for p in plan.problems)
    with pdfplumber.open(io.BytesIO(pdf)) as doc:  # every character is still printed (flagged, not cut off)
        assert "".join(c["text"] for c in doc.pages[0].chars) == long_name
    boxes = [{"type": "boxes", "key": "zip", "label": "郵便番号", "binding": "person.name", "cells": 3, "x": 20,
              "y": 20, "w": 18, "h": 6}]
    plan, _pdf = render(boxes, [person(name="12345")])
    assert any("枡目は3個" in p for p in plan.problems)


def test_a_character_no_font_has_is_reported_by_field_and_code_point():
    fields = [{"type": "text", "key": "name", "label": "氏名", "binding": "person.name", "x": 20, "y": 20, "w": 60,
               "h": 8}]
    plan, _pdf = render(fields, [person(name="窓口 \U00017000")])
    assert any("氏名" in p and "U+17000" in p for p in plan.problems)
    # A private-use 外字 nobody mapped is reported too (it would print as nothing or a box).
    plan, _pdf = render(fields, [person(name="窓口 \ue123")])
    assert any("U+E123" in p for p in plan.problems)


# ---------------------------------------------------------------------------------------------
# Glyphs by pixels
# ---------------------------------------------------------------------------------------------
BOX = (20, 20, 30, 30)  # mm


def glyph_image(text: str, *, gaiji=None):  # noqa: ANN001,ANN201
    from PIL import Image

    fields = [{"type": "text", "key": "g", "label": "字", "binding": "person.name", "x": BOX[0], "y": BOX[1],
               "w": BOX[2], "h": BOX[3], "size": 60, "min_size": 60, "align": "center"}]
    plan, pdf = render(fields, [person(name=text)], gaiji=gaiji)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "g.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "150", "-gray", "-png", "-singlefile", str(source), str(Path(folder) / "g")],
                       check=True, capture_output=True)
        image = Image.open(Path(folder) / "g.png").convert("L")
        image.load()
    scale = 150 / 25.4
    crop = image.crop(tuple(round(v * scale) for v in (BOX[0], BOX[1], BOX[0] + BOX[2], BOX[1] + BOX[3])))
    return plan, crop


def difference(a, b) -> float:  # noqa: ANN001
    """Share of pixels that are ink in exactly one of the two images."""
    pa, pb = a.point(lambda v: 255 if v < 128 else 0).tobytes(), b.point(lambda v: 255 if v < 128 else 0).tobytes()
    ink = sum(1 for x, y in zip(pa, pb, strict=True) if x or y)
    return sum(1 for x, y in zip(pa, pb, strict=True) if x != y) / max(ink, 1)


def ink(image) -> int:  # noqa: ANN001
    return sum(1 for v in image.tobytes() if v < 128)


@pytest.mark.parametrize(("variant", "base"), [
    ("𠮷", "吉"),  # つちよし (U+20BB7) is not 吉
    ("葛\U000E0102", "葛"),  # a Moji_Joho IVS variant (MJ022335) is not the default 葛 (MJ022336)
])
def test_variants_print_as_themselves_not_as_the_base_glyph(variant, base):
    plan_v, image_v = glyph_image(variant)
    _plan_b, image_b = glyph_image(base)
    assert plan_v.problems == []
    assert ink(image_v) > 200 and ink(image_b) > 200
    assert difference(image_v, image_b) > 0.05
    # The same text renders to the same pixels (the comparison above is not noise).
    _plan_again, image_again = glyph_image(variant)
    assert difference(image_v, image_again) == 0


def test_a_mapped_gaiji_prints_as_the_character_it_is_mapped_to():
    pua = "\ue001"
    target = "𩸽"  # ほっけ: an MJ character IPAex明朝 does not have
    plan, image_mapped = glyph_image(pua, gaiji={pua: target})
    _plan_t, image_target = glyph_image(target)
    unmapped, image_raw = glyph_image(pua)
    assert plan.problems == [] and plan.results[0].value == target
    assert difference(image_mapped, image_target) == 0 and ink(image_mapped) > 200
    assert unmapped.problems and difference(image_mapped, image_raw) > 0.05

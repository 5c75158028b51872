"""The flowing 手続き案内票 prints names with the right glyphs (issue 12 review), by pixels as the positioned forms do
(``test_forms_render.test_variants_print_as_themselves_not_as_the_base_glyph``).

Flow templates are admin-edited HTML rendered by Django; every text node of the result goes through the glyph
routing of positioned fields (``render._glyph_html``): an IVS sequence (葛󠄂) or an MJ character the gothic font of
the 案内票 lacks is printed from the IPAmj明朝-derived font that holds it — never the gothic base glyph, never the
46 MB font — while autoescaping keeps values from becoming markup.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import pdfplumber
import pytest

from tests.test_forms_family import interview, setup  # noqa: F401 - fixture
from tests.test_forms_render import person, render

IVS_KUZU = "葛\U000E0102"  # Moji_Joho variant MJ022335, not the default 葛 (MJ022336)
RARE = "\U00020005"  # 𠀅: an MJ character outside IPAexゴシック and outside the common derived font
DPI = 600


def _glyph(pdf: bytes, first: str, *, nth: int = 0):  # noqa: ANN202
    """The em square of the ``nth`` printed glyph whose text starts with ``first``: (grey image at 600 dpi,
    font name, size in pt)."""
    from PIL import Image

    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        chars = sorted((c for page in doc.pages[:1] for c in page.chars if c["text"].startswith(first)),
                       key=lambda c: (c["top"], c["x0"]))
    char = chars[nth]
    scale = DPI / 72
    x, y, side = int(char["x0"] * scale) - 4, int(char["top"] * scale) - 4, int(char["size"] * scale) + 8
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "g.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", "-singlefile", "-f", "1", "-l", "1",
                        "-x", str(x), "-y", str(y), "-W", str(side), "-H", str(side), str(source),
                        str(Path(folder) / "g")], check=True, capture_output=True)
        image = Image.open(Path(folder) / "g.png").convert("L")
        image.load()
    return image, char["fontname"].split("+")[-1], char["size"]


def _shape(image, n: int = 48):  # noqa: ANN001,ANN202
    """The glyph's ink cropped and scaled to an n×n square: the same outline drawn at another sub-pixel position
    (a flowing paragraph vs a positioned box) gives the same shape."""
    from PIL import Image, ImageChops

    crop = image.crop(ImageChops.invert(image).getbbox())
    side = max(crop.size)
    canvas = Image.new("L", (side, side), 255)
    canvas.paste(crop, ((side - crop.size[0]) // 2, (side - crop.size[1]) // 2))
    return canvas.resize((n, n), Image.BOX)


def distance(a, b) -> float:  # noqa: ANN001
    """Mean grey difference of the two glyph shapes, 0 (same) … 1."""
    pa, pb = _shape(a).tobytes(), _shape(b).tobytes()
    return sum(abs(x - y) for x, y in zip(pa, pb, strict=True)) / (255 * len(pa))


def _positioned(text: str, size: float) -> bytes:
    """The reference: ``text`` printed by a positioned 明朝 field (IPAmj明朝 first), as the pixel test of the
    positioned forms proves right."""
    fields = [{"type": "text", "key": "g", "label": "字", "binding": "person.name", "x": 20, "y": 20, "w": 60,
               "h": 20, "size": size, "min_size": size}]
    plan, pdf = render(fields, [person(name=text)])
    assert plan.problems == []
    return pdf


@pytest.fixture
def guidance_pdf(setup):  # noqa: ANN001,ANN201,F811
    """The 案内票 of a real case (mirror residents, 転居, through the interview): the head's name holds the IVS
    variant and the rare character, his wife's the base 葛 — both printed by the flowing template."""
    from forms_builder import fonts, services
    from navigation.cases.services import case_open
    from tests.test_search import make_resident

    assert fonts.family_for(IVS_KUZU, "gothic") == "IPAmjMincho"  # IPAexゴシック has 葛 but not this variant
    assert fonts.family_for(RARE, "gothic") == "IPAmjMincho" and fonts.mj_part(RARE) > 0
    head = make_resident(name=f"{IVS_KUZU}{RARE} 太郎", kana="カツラ タロウ", birth=date(1970, 4, 1),
                         address="テストA市山下町1番1号")
    wife = make_resident(name="葛 花子", kana="カツラ ハナコ", birth=date(1972, 6, 1), address="テストA市山下町1番1号",
                         household_no=head.household_no, relationship="妻", sex="2")
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[head.atena_no, wife.atena_no],
                     events=["tenkyo"], event_date=date.today())
    interview(case, setup["staff"], setup["counter"])
    issued = services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case, channel="print",
                                      codes=["guidance"])
    (plan,) = issued.plans
    assert plan.problems == []
    return plan, issued.pdf


def test_an_ivs_variant_in_a_name_prints_as_itself_in_the_guidance_not_as_the_base_glyph(guidance_pdf):
    from forms_builder import fonts

    plan, pdf = guidance_pdf
    variant, font_v, size = _glyph(pdf, "葛", nth=0)  # 葛󠄂 太郎 (the head) is listed first
    base, font_b, size_b = _glyph(pdf, "葛", nth=1)  # 葛 花子
    reference_v, _f, _s = _glyph(_positioned(IVS_KUZU, size), "葛")
    reference_b, _f, _s = _glyph(_positioned("葛", size), "葛")
    # The variant glyph, not the base one: neither the 案内票's own (gothic) 葛 nor the MJ default 葛.
    assert distance(variant, reference_v) < 0.02
    assert distance(variant, base) > 0.1 and distance(variant, reference_b) > 0.05
    assert distance(reference_v, reference_b) > 0.05  # the two references are told apart at this size
    assert font_v == fonts.derived_family(fonts.mj_part(IVS_KUZU)) + "-Bold"  # the heading is bold
    assert font_b == "IPAexGothic-Bold" and size_b == size
    assert f'<span class="mj{fonts.mj_part(IVS_KUZU)}">{IVS_KUZU}</span>' in plan.html


def test_a_rare_mj_character_in_a_name_prints_from_its_derived_font_not_the_46_mb_font(guidance_pdf):
    from forms_builder import fonts

    plan, pdf = guidance_pdf
    glyph, font, size = _glyph(pdf, RARE)
    reference, _f, _s = _glyph(_positioned(RARE, size), RARE)
    assert distance(glyph, reference) < 0.02
    assert font == fonts.derived_family(fonts.mj_part(RARE)) + "-Bold"
    assert f'<span class="mj{fonts.mj_part(RARE)}">{RARE}</span>' in plan.html
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert not any(c["fontname"].split("+")[-1].startswith("IPAmj") for c in doc.pages[0].chars)


def test_flow_values_stay_text_and_unprintable_characters_are_reported():
    """Routing re-escapes every text node: a value cannot become markup; a character no font has (an unmapped
    外字) is a problem naming it, as in positioned forms, and a mapped one prints as its target."""
    from types import SimpleNamespace

    from forms_builder import render as r
    from forms_builder import sources as src

    html = ('<h2 title="{{ case.label }}">{{ case.label }}</h2><style>h2 { color: #000; }</style>'
            "{% for name, items in by_person.items %}<p>{{ name }}</p>{% endfor %}")
    template = SimpleNamespace(code="flow", name="案内", scope="case")
    version = SimpleNamespace(pk=None, number=1, template=template, page_size="A4", orientation="portrait",
                              background_id=None, fields=[], html=html)
    case = SimpleNamespace(label='<b>"1&2"</b>葛\U000E0102')
    people = [person(name="窓口 \ue001\ue002")]
    procedures = [SimpleNamespace(person=people[0], name="転居届", counter=None, documents=[])]
    ctx = src.BindingContext(case=case, persons=people, doc_persons=people, person=people[0],
                             extra={"gaiji": {"\ue001": "𩸽"}, "procedures": procedures})
    plan = r.plan_document(version=version, ctx=ctx)
    body = plan.html
    assert "<b>" not in body and "&lt;b&gt;&quot;1&amp;2&quot;&lt;/b&gt;" in body
    assert 'title="&lt;b&gt;&quot;1&amp;2&quot;&lt;/b&gt;葛\U000E0102"' in body  # attributes are left as escaped
    assert "<style>h2 { color: #000; }</style>" in body
    assert "𩸽" in body and "\ue001" not in body
    assert len(plan.problems) == 1 and "U+E002" in plan.problems[0]

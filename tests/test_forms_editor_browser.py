"""The layout editor in real Chromium (R2.7): an admin drags a field and publishes, and the next rendered PDF has
the field at its new position (read back from the PDF's text coordinates); the same by keyboard alone; undo
after a drag puts the field back; the page has no accessibility violations."""

from __future__ import annotations

import io
from datetime import date

import pytest

from tests.conftest import axe_violations, browser_login, in_tenant

pytestmark = [pytest.mark.browser, pytest.mark.schema]

CODE = "editor_demo"
MM = 72 / 25.4  # PDF points per mm
SCALE = 3  # the editor's default zoom: 3 px per mm


def _setup(city, django_db_blocker) -> None:  # noqa: ANN001
    from django.utils import timezone

    from forms_builder.models import FormTemplate, FormVersion, VersionStatus

    fields = [
        {"type": "text", "key": "city", "label": "自治体名", "binding": "office.municipality",
         "x": 20, "y": 30, "w": 80, "h": 8},
        {"type": "text", "key": "name", "label": "氏名", "binding": "person.name", "x": 20, "y": 150, "w": 60,
         "h": 8},
    ]
    with django_db_blocker.unblock(), in_tenant(city):
        template = FormTemplate.objects.create(code=CODE, name="エディタの試験様式", kind="application")
        FormVersion.objects.create(template=template, number=1, status=VersionStatus.PUBLISHED,
                                   effective_from=date(2000, 1, 1), published_at=timezone.now(), fields=fields)


def _open_editor(page, server, city) -> None:  # noqa: ANN001
    browser_login(page, server, city, "admin")
    page.wait_for_load_state()
    page.goto(server.url(city, f"/forms/templates/{CODE}/editor/"))
    page.wait_for_selector('#fe-editor[data-ready="1"]')


def _box(page, index: int):  # noqa: ANN001, ANN202
    return page.locator(f'#fe-page .fe-box[data-index="{index}"]')


def _drag(page, index: int, dx: float, dy: float) -> None:  # noqa: ANN001
    _box(page, index).scroll_into_view_if_needed()
    box = _box(page, index).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=5)
    page.mouse.move(x + dx, y + dy, steps=5)
    page.mouse.up()


def _published_city_box_in_pdf(city, django_db_blocker) -> dict:  # noqa: ANN001
    """Render the version in force the way documents are rendered; the municipality's name as PDF words."""
    import pdfplumber

    from forms_builder import render
    from forms_builder import sources as src
    from forms_builder.models import FormTemplate
    from forms_builder.selectors import version_in_force

    with django_db_blocker.unblock(), in_tenant(city):
        version = version_in_force(template=FormTemplate.objects.get(code=CODE))
        ctx = src.BindingContext(case=None, persons=[], doc_persons=[], person=None, municipality=city)
        plan = render.plan_document(version=version, ctx=ctx)
        pdf, _pages = render.render_pdf([plan])
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        words = document.pages[0].extract_words()
    found = [w for w in words if w["text"] == city.name]
    assert len(found) == 1, words
    return {"version": version.number, "fields": version.fields, **found[0]}


def _inside(word: dict, x: float, y: float, w: float, h: float) -> bool:
    """The printed word lies inside the box (mm) on the page."""
    return (x * MM <= word["x0"] and word["x1"] <= (x + w) * MM and y * MM <= word["top"]
            and word["bottom"] <= (y + h) * MM)


def _publish_today(page) -> None:  # noqa: ANN001
    page.get_by_label("適用開始日").fill(date.today().isoformat())
    page.get_by_role("button", name="下書きを公開").click()
    page.wait_for_url(f"**/forms/templates/{CODE}/")
    assert page.get_by_text("公開しました。").is_visible()


def test_an_admin_drags_a_field_publishes_and_the_next_pdf_prints_it_there(live_server_mt, page,
                                                                           fresh_municipality, django_db_blocker):
    city = fresh_municipality(areas="juki,kokuho")
    _setup(city, django_db_blocker)
    before = _published_city_box_in_pdf(city, django_db_blocker)
    assert _inside(before, 20, 30, 80, 8)
    _open_editor(page, live_server_mt, city)
    assert axe_violations(page) == []

    _drag(page, 0, 25 * SCALE, 40 * SCALE)  # 25 mm right, 40 mm down, on the 1 mm grid
    assert page.locator("#fe-x").input_value() == "45"
    assert page.locator("#fe-y").input_value() == "70"
    assert page.get_by_text("保存していない変更があります").is_visible()
    _publish_today(page)  # unsaved changes are saved first, then published

    after = _published_city_box_in_pdf(city, django_db_blocker)
    assert after["version"] == 2
    assert (after["fields"][0]["x"], after["fields"][0]["y"]) == (45, 70)
    assert _inside(after, 45, 70, 80, 8) and not _inside(after, 20, 30, 80, 8)
    assert after["x0"] - before["x0"] == pytest.approx(25 * MM, abs=0.5)
    assert after["top"] - before["top"] == pytest.approx(40 * MM, abs=0.5)
    assert after["fields"][1] == before["fields"][1]  # the other field did not move


def _tab_to(page, selector: str, *, limit: int = 250) -> None:  # noqa: ANN001
    """Press Tab until the element matching ``selector`` has the focus (keyboard only; reading focus is looking)."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def _type_date(page, selector: str, day: date) -> None:  # noqa: ANN001
    """Type a date into the focused date input. Chromium orders its segments by its own UI locale (Edge in
    Japanese: 年/月/日; this headless build may use 月/日/年), so try one order and then the other."""
    # Tab and Shift+Tab move between the segments; after a failed try the focus is on the last segment.
    for keys in (["%Y", "ArrowRight", "%m%d"], ["Shift+Tab", "Shift+Tab", "%m%d%Y"]):
        for key in keys:
            if key.startswith("%"):
                page.keyboard.type(day.strftime(key))
            else:
                page.keyboard.press(key)
        if page.locator(selector).input_value() == day.isoformat():
            return
    raise AssertionError(page.locator(selector).input_value())


def test_the_same_by_keyboard_alone(live_server_mt, page, fresh_municipality, django_db_blocker):
    city = fresh_municipality(areas="juki,kokuho")
    _setup(city, django_db_blocker)
    _open_editor(page, live_server_mt, city)

    _tab_to(page, "#fe-item-0")  # the list of fields: 自治体名
    page.keyboard.press("Space")
    assert "「自治体名」" in page.locator("#fe-selection").inner_text()
    _tab_to(page, "#fe-x")
    page.keyboard.press("Control+A")
    page.keyboard.type("55.5")
    page.keyboard.press("Tab")  # leaving the input applies it
    assert page.locator("#fe-x").input_value() == "55.5"
    _tab_to(page, '#fe-page .fe-box[data-index="0"]')  # the selected field on the page
    page.keyboard.press("ArrowDown")  # 1 mm
    page.keyboard.press("Shift+ArrowDown")  # 10 mm
    page.keyboard.press("ArrowRight")
    assert page.locator("#fe-y").input_value() == "41"
    assert page.locator("#fe-x").input_value() == "56.5"
    page.keyboard.press("Control+s")
    page.wait_for_selector('#fe-editor[data-saved="1"]')
    _tab_to(page, "#fe-effective")
    _type_date(page, "#fe-effective", date.today())
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/forms/templates/{CODE}/")

    after = _published_city_box_in_pdf(city, django_db_blocker)
    assert after["version"] == 2 and (after["fields"][0]["x"], after["fields"][0]["y"]) == (56.5, 41)
    assert _inside(after, 56.5, 41, 80, 8)


def test_undo_after_a_drag_restores_the_position(live_server_mt, page, fresh_municipality, django_db_blocker):
    city = fresh_municipality(areas="juki,kokuho")
    _setup(city, django_db_blocker)
    _open_editor(page, live_server_mt, city)
    def on_page() -> tuple[int, int]:  # the box's place on the drawn page, in px
        return tuple(_box(page, 1).evaluate("e => [e.offsetLeft, e.offsetTop]"))

    start = on_page()
    assert start == (20 * SCALE, 150 * SCALE)
    _drag(page, 1, 30 * SCALE, -20 * SCALE)
    assert on_page() == (50 * SCALE, 130 * SCALE)
    assert page.locator("#fe-x").input_value() == "50" and page.locator("#fe-y").input_value() == "130"

    page.get_by_role("button", name="元に戻す").click()
    assert on_page() == start
    assert page.locator("#fe-x").input_value() == "20" and page.locator("#fe-y").input_value() == "150"
    page.get_by_role("button", name="やり直す").click()
    assert page.locator("#fe-x").input_value() == "50"
    page.keyboard.press("Control+z")  # the shortcut does the same
    assert page.locator("#fe-x").input_value() == "20"
    page.get_by_role("button", name="下書きを保存").click()
    page.wait_for_selector('#fe-editor[data-saved="1"]')
    with django_db_blocker.unblock(), in_tenant(city):
        from forms_builder.models import FormTemplate
        from forms_builder.selectors import draft_of

        draft = draft_of(template=FormTemplate.objects.get(code=CODE))
        assert (draft.fields[1]["x"], draft.fields[1]["y"]) == (20, 150)


def test_multi_select_align_copy_with_binding_and_a_refused_save(live_server_mt, page, fresh_municipality,
                                                                django_db_blocker):
    city = fresh_municipality(areas="juki,kokuho")
    _setup(city, django_db_blocker)
    _open_editor(page, live_server_mt, city)
    _box(page, 0).click()
    _box(page, 1).click(modifiers=["Control"])
    page.get_by_role("button", name="右揃え").click()  # right edges: 20+80 = 100 → 氏名 x = 100-60
    assert page.locator("#fe-x").input_value() == "40"
    page.get_by_role("button", name="複製").click()  # both selected fields, each with its binding
    assert page.locator("#fe-list li").count() == 4
    assert page.locator("#fe-binding").input_value() == "person.name"  # the copy keeps its binding
    assert page.locator("#fe-key").input_value() == "name_copy"
    # The picker finds a binding by its label and shows the sample household's value.
    page.get_by_label("データの出どころを検索").fill("生年月日")
    pick = page.locator(".fe-pick", has_text="person.birth_date")
    assert "1980-05-01" in pick.inner_text()
    pick.click()
    assert page.locator("#fe-binding").input_value() == "person.birth_date"
    # A box pushed off the page is refused by the server, naming the field; nothing is saved.
    page.locator("#fe-x").fill("190")
    page.locator("#fe-x").press("Enter")
    page.get_by_role("button", name="下書きを保存").click()
    errors = page.locator("#fe-errors")
    errors.wait_for()
    assert "項目4「氏名」" in errors.inner_text() and "はみ出しています" in errors.inner_text()
    with django_db_blocker.unblock(), in_tenant(city):
        from forms_builder.models import FormTemplate
        from forms_builder.selectors import draft_of

        assert draft_of(template=FormTemplate.objects.get(code=CODE)) is None
    # The live preview shows the page as printed for the sample household.
    page.locator("#fe-x").fill("100")
    page.locator("#fe-x").press("Enter")
    page.get_by_role("button", name="プレビューを更新").click()
    page.wait_for_function("() => document.getElementById('fe-preview').src.startsWith('data:image/png')")
    # All four selected (the two copies, then 自治体名 and 氏名 from the list): equal vertical gaps between them.
    page.locator("#fe-item-0").check()
    page.locator("#fe-item-1").check()
    page.get_by_role("button", name="上下に等間隔").click()
    ys = page.evaluate("() => window.madoguchiFormEditor.fields.map(f => f.y)")
    assert ys == [30, 113.3, 71.7, 155]  # 30 … 155 + 8, four boxes of 8 mm: gaps of 33.7 mm
    assert page.locator("#fe-y").input_value() == "113.3"  # the inspector shows the last one selected (氏名)
    page.get_by_role("button", name="元に戻す").click()
    assert axe_violations(page) == []


def test_a_dragged_field_snaps_to_another_field_s_edge(live_server_mt, page, fresh_municipality, django_db_blocker):
    city = fresh_municipality(areas="juki,kokuho")
    _setup(city, django_db_blocker)
    _open_editor(page, live_server_mt, city)
    # 氏名 (x 20) dragged 4 px (1.3 mm) right and 105 mm up: the 1 mm grid gives x 21, 自治体名's left edge
    # (x 20) is within 2 mm, so it lands on 20.
    _drag(page, 1, 4, -105 * SCALE)
    assert page.locator("#fe-x").input_value() == "20" and page.locator("#fe-y").input_value() == "45"
    page.keyboard.press("Control+z")
    page.get_by_label("他の項目の端・中央に合わせる").uncheck()
    _drag(page, 1, 4, -105 * SCALE)
    assert page.locator("#fe-x").input_value() == "21"

"""The case page's layout in Chromium (issue 17): at 1366×768 the next step's button — the page's only primary
button — is on screen without scrolling, at every step; at 1920 px the page uses the width; counter names in
the 担当 column never wrap; axe finds nothing on the case page with a household act."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from tests import journey
from tests.conftest import axe_violations, in_tenant

pytestmark = [pytest.mark.browser, pytest.mark.schema]

NEWCOMERS = [{"name": n, "name_kana": k, "birth_date": date.fromisoformat(b), "relationship": r}
             for n, k, b, r in journey.FAMILY]

PRIMARY = "#main .button--primary:not(#mynacard *)"
COUNTER_WRAPS = """() => [...document.querySelectorAll('.cases-proc__counter')].filter(cell => {
  const text = [...cell.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());
  if (!text) return false;
  const range = document.createRange(); range.selectNodeContents(text);
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1;
}).map(cell => cell.textContent.trim())"""


def _in_view(page) -> bool:  # noqa: ANN001
    box = page.locator(PRIMARY).bounding_box()
    viewport = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


def test_next_step_in_view_at_1366_and_the_width_used_at_1920(live_server_mt, page, fresh_municipality,
                                                              django_db_blocker):
    from navigation.cases.services import case_answers_update, case_open
    from tenants.accounts.models import Counter, User

    city = fresh_municipality(areas=journey.ALL_AREAS)
    journey.setup_city(city, django_db_blocker, in_tenant)
    with django_db_blocker.unblock(), in_tenant(city):
        staff, counter = User.objects.get(username="uketsuke"), Counter.objects.get(name="総合窓口 1番")
        case = case_open(actor=staff, counter=counter, newcomers=[dict(p) for p in NEWCOMERS])
    journey.login(journey.Staff(page, journey.Counts()), live_server_mt, city.slug, "uketsuke", "総合窓口 1番")
    url = live_server_mt.url(city.slug, f"/navi/cases/{case.pk}/")

    def step(expected: str) -> None:
        page.goto(url)
        expect(page.locator(PRIMARY)).to_have_count(1)
        expect(page.locator(PRIMARY)).to_contain_text(expected)
        assert _in_view(page), f"「{expected}」 is below the fold at {page.viewport_size}"

    step("イベントを保存して判定")
    with django_db_blocker.unblock(), in_tenant(city):
        case.events, case.event_date = ["tennyu"], date.today()
        from navigation.cases.services import case_events_set

        case_events_set(actor=staff, counter=counter, case=case, events=["tennyu"], event_date=date.today())
    step("回答を保存して判定")
    with django_db_blocker.unblock(), in_tenant(city):
        case.refresh_from_db()
        case_answers_update(actor=staff, counter=counter, case=case, answers={
            "case:any_employee_insurance": "no", "case:inkan_wish_any": "no", "case:card_holding_any": "no",
            "case:parent_public_servant": "no"})
    step("すべて完了")
    assert page.evaluate(COUNTER_WRAPS) == []
    assert axe_violations(page) == []
    with django_db_blocker.unblock(), in_tenant(city):
        case.procedures.exclude(counter__name="保険年金窓口").update(status="done")
    step("引き継ぐ")
    with django_db_blocker.unblock(), in_tenant(city):
        case.procedures.update(status="done")
    step("受付を完了する")

    # A 1920 px screen: the page is wider than the old 1320 px column, the 担当 column still one line.
    page.set_viewport_size({"width": 1920, "height": 1080})
    with django_db_blocker.unblock(), in_tenant(city):
        case.procedures.update(status="todo")
    step("すべて完了")
    assert page.locator("#main").bounding_box()["width"] > 1800
    assert page.locator(".cases-side").bounding_box()["width"] > 700
    assert page.evaluate(COUNTER_WRAPS) == []
    assert axe_violations(page) == []

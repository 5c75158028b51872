"""From search to case in one step (issue 17 item 2): the newcomer form on the search results keeps what
was typed, a refused entry keeps every value, and the same newcomer twice is asked about first."""

from __future__ import annotations

from tests.conftest import staff_client
from tests.test_cases import catalogue, people  # noqa: F401


def _value(html: str, name: str) -> str:
    import re

    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or \
        re.search(rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', html)
    return match.group(1) if match else ""


def test_the_search_results_offer_the_newcomer_form_with_what_was_typed(people, tenant_a):  # noqa: F811
    client = staff_client(tenant_a, "staff1", counter=people["A"])
    html = client.get("/navi/cases/search/", {"q": "テンニュウ ハナコ", "birth": "S60.1.1"}).content.decode()
    assert "該当する住民が見つかりません" in html and 'id="search-newcomer" open' in html
    assert _value(html, "name_kana") == "テンニュウ ハナコ" and _value(html, "birth_date") == "S60.1.1"
    html = client.get("/navi/cases/search/", {"q": "転入 花子"}).content.decode()
    assert _value(html, "name") == "転入 花子"


def test_a_refused_newcomer_keeps_every_typed_value(people, tenant_a):  # noqa: F811
    from navigation.cases.models import Case

    client = staff_client(tenant_a, "staff1", counter=people["A"])
    response = client.post("/navi/cases/new/newcomer/", {"name": "転入 花子", "name_kana": "テンニュウ ハナコ",
                                                         "birth_date": "", "relationship": "世帯主",
                                                         "nationality": ""})
    html = response.content.decode()
    assert response.status_code == 400 and "生年月日" in html and "field--error" in html
    assert _value(html, "name") == "転入 花子" and _value(html, "name_kana") == "テンニュウ ハナコ"
    assert _value(html, "relationship") == "世帯主" and not Case.objects.exists()


def test_the_same_newcomer_twice_is_asked_about_first(people, tenant_a, catalogue):  # noqa: F811
    from navigation.cases.models import Case, CasePerson

    client = staff_client(tenant_a, "staff1", counter=people["A"])
    data = {"name": "転入 花子", "name_kana": "テンニュウ ハナコ", "birth_date": "1990-02-03"}
    first = client.post("/navi/cases/new/newcomer/", data)
    case = Case.objects.get()
    assert first.status_code == 302
    # Into a new case again: another open case already has her.
    again = client.post("/navi/cases/new/newcomer/", {**data, "name": "転入　花子"}).content.decode()
    assert f"受付 {case.label} で受付中です" in again and "それでも追加する" in again and Case.objects.count() == 1
    # Into the same case: asked, then added only when confirmed.
    url = f"/navi/cases/{case.pk}/persons/newcomer/"
    asked = client.post(url, data).content.decode()
    assert "この受付に追加済みです" in asked and 'name="confirm_duplicate"' in asked
    assert CasePerson.objects.filter(case=case).count() == 1
    assert client.post(url, {**data, "confirm_duplicate": "1"}).status_code == 302
    assert CasePerson.objects.filter(case=case).count() == 2
    other = client.post(url, {**data, "name": "転入 一郎"})  # a different person is not asked about
    assert other.status_code == 302 and CasePerson.objects.filter(case=case).count() == 3

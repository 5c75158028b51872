"""外字の確認 (R5.6): staff see each character of a name with its code, IVS and MJ文字図形名."""

from __future__ import annotations

from datetime import date

import pytest

from integration.checkdigits import with_check_digit
from integration.models import GaijiMapping, Resident
from integration.selectors import name_characters
from tests.conftest import PASSWORD, browser_login, in_tenant, provisioned_counter, staff_client

IVS_KATSU = "葛\U000E0102"  # 葛 with IVS (葛飾区の「葛」)


def _resident(name: str, n: int = 1) -> Resident:
    return Resident.objects.create(atena_no=with_check_digit(f"3000000{n}"), household_no=with_check_digit("40000001"),
                                   name=name, name_kana="タカハシ カツコ", birth_date=date(1970, 1, 2), sex="2")


def test_characters_with_codes_ivs_and_mj_names(in_a):
    GaijiMapping.objects.create(local_code="\ue000", ucs=IVS_KATSU, mj_name="MJ006578")
    chars = name_characters(text=f"髙橋 {IVS_KATSU}子")
    by_char = {c["char"]: c for c in chars}
    assert [c["char"] for c in chars] == ["髙", "橋", " ", IVS_KATSU, "子"]
    assert by_char["髙"]["label"] == "U+9AD9" and by_char["髙"]["outside_jis"]  # IBM extension, not JIS X 0208
    assert by_char["橋"]["label"] == "U+6A4B" and not by_char["橋"]["outside_jis"]
    assert by_char[IVS_KATSU]["label"] == "U+845B U+E0102" and by_char[IVS_KATSU]["ivs"]
    assert by_char[IVS_KATSU]["mj_name"] == "MJ006578" and by_char[IVS_KATSU]["outside_jis"]
    assert by_char["子"]["mj_name"] == ""
    unmapped = name_characters(text="山\ue123")
    assert unmapped[1]["pua"] and unmapped[1]["label"] == "U+E123" and unmapped[1]["outside_jis"]


def test_person_page_shows_the_codes(tenant_a):
    with in_tenant(tenant_a):
        GaijiMapping.objects.create(local_code="\ue000", ucs=IVS_KATSU, mj_name="MJ006578")
        rare = _resident(f"髙橋 {IVS_KATSU}子", 1)
        plain = _resident("高橋 花子", 2)
    client = staff_client(tenant_a, "staff1")
    text = client.get(f"/navi/cases/persons/{rare.atena_no}/").content.decode()
    assert "氏名の文字コードを表示" in text and "JIS第1・第2水準にない文字があります" in text
    assert "U+9AD9" in text and "U+845B U+E0102" in text and "MJ006578" in text and "異体字セレクタ付き" in text
    text = client.get(f"/navi/cases/persons/{plain.atena_no}/").content.decode()
    assert "氏名の文字コードを表示" in text and "JIS第1・第2水準にない文字があります" not in text
    assert "U+9AD8" in text  # 高


def test_mj_names_come_from_this_citys_table_only(tenant_a, tenant_b):
    with in_tenant(tenant_b):
        GaijiMapping.objects.create(local_code="\ue000", ucs=IVS_KATSU, mj_name="MJ006578")
    with in_tenant(tenant_a):
        rare = _resident(f"髙橋 {IVS_KATSU}子", 1)
        assert name_characters(text=rare.name)[3]["mj_name"] == ""
    text = staff_client(tenant_a, "staff1").get(f"/navi/cases/persons/{rare.atena_no}/").content.decode()
    assert "U+845B U+E0102" in text and "MJ006578" not in text


@pytest.mark.browser
@pytest.mark.schema
def test_staff_opens_the_character_codes_of_a_name(live_server_mt, page, fresh_municipality, django_db_blocker):
    from tests.conftest import axe_violations

    city = fresh_municipality(areas="juki,kokuho")
    with django_db_blocker.unblock(), in_tenant(city):
        from tenants.accounts.services import staff_create

        counter = provisioned_counter("総合窓口", name="総合窓口 1番")  # created at provisioning (市民課)
        staff_create(actor=None, username="uketsuke", password=PASSWORD, display_name="受付 一郎",
                     areas="juki,kokuho", department=counter.department)
        GaijiMapping.objects.create(local_code="\ue000", ucs=IVS_KATSU, mj_name="MJ006578")
        atena_no = _resident(f"髙橋 {IVS_KATSU}子").atena_no
    server = live_server_mt
    browser_login(page, server, city.slug, "uketsuke")
    page.wait_for_url("**/accounts/counter/**")
    page.get_by_label("総合窓口 1番").check()
    page.get_by_role("button", name="この窓口で開始").click()
    page.wait_for_url(server.url(city.slug, "/navi/cases/"))
    page.goto(server.url(city.slug, f"/navi/cases/persons/{atena_no}/"))
    table = page.locator("#name-chars table")
    assert not table.is_visible()
    page.get_by_text("氏名の文字コードを表示").click()
    table.wait_for()
    row = table.locator("tbody tr").nth(2)  # the space is not listed
    assert row.locator("td").nth(1).inner_text() == "U+845B U+E0102"
    assert row.locator("td").nth(2).inner_text() == "MJ006578"
    assert "JIS第1・第2水準にない文字があります" in page.locator("#name-chars summary").inner_text()
    assert axe_violations(page) == []

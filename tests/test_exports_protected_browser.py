"""Browser (real Chromium, Japanese UI): the hand-back file of a protected household.

A 窓口職員 closed a 転居 case for a member of a household under a support measure (DV等支援措置). She
downloads the 住民異動届 file and finds the address masked (and the file marked); the linkage operator,
who holds 「支援措置の閲覧」, re-downloads it by date and finds the real address. Both downloads are in the
audit trail with the residents named.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.utils import timezone

from tests.conftest import PASSWORD, axe_violations, in_tenant, provisioned_counter
from tests.test_cases_browser import _login_at

pytestmark = [pytest.mark.browser, pytest.mark.schema]

SECRET = "テスト市秘密町7-7-7"
MASK = "（支援措置対象のため非表示）"


def _setup(city, django_db_blocker) -> dict:
    """Counter, a 窓口職員 and the linkage operator, the protected household, a closed 転居 case — committed."""
    from integration.checkdigits import with_check_digit
    from integration.models import Resident, SupportMeasure
    from integration.normalize import normalize_address, normalize_kana, normalize_name
    from navigation.services import catalogue_install_default
    from tenants.accounts.services import staff_create
    from tests.test_handback import _complete_and_close, _open

    with django_db_blocker.unblock(), in_tenant(city):
        counter = provisioned_counter("総合窓口", name="総合窓口 1番", sort_order=1)  # created at provisioning
        shimin = counter.department
        clerk = staff_create(actor=None, username="madoguchi1", password=PASSWORD, display_name="窓口 三郎",
                             areas="juki", department=shimin)
        staff_create(actor=None, username="renkei", password=PASSWORD, display_name="連携 担当", areas="juki",
                     department=shimin, may_view_support_measures=True)
        household_no = with_check_digit("20000007")
        residents = []
        for body, name, kana, relationship, born in (("10000007", "保護 花子", "ホゴ ハナコ", "世帯主", 1988),
                                                     ("10000015", "保護 父", "ホゴ チチ", "父", 1958)):
            residents.append(Resident.objects.create(
                atena_no=with_check_digit(body), household_no=household_no, name=name, name_kana=kana,
                birth_date=date(born, 4, 4), sex="2", relationship=relationship, address=SECRET,
                search_name=normalize_name(name), search_kana=normalize_kana(kana),
                search_address=normalize_address(SECRET)))
        protected, father = residents
        SupportMeasure.objects.create(atena_no=protected.atena_no, start_date=date(2024, 1, 1),
                                      restrict_address=True)
        catalogue_install_default()
        case = _open({"staff1": clerk, "A": counter}, atena_nos=[father.atena_no], events=["tenkyo"])
        _complete_and_close(case, {"staff1": clerk, "A": counter})
    return {"protected": protected.atena_no, "father": father.atena_no}


def _download(page) -> tuple[str, str]:
    with page.expect_download() as info:
        page.get_by_role("button", name="ダウンロード").click()
    download = info.value
    return download.suggested_filename, open(download.path(), encoding="utf-8", newline="").read()


def test_clerk_gets_the_masked_file_and_the_linkage_operator_the_real_one(live_server_mt, browser, page,
                                                                         fresh_municipality, django_db_blocker):
    from audit.selectors import events_for_resident

    city = fresh_municipality(areas="juki")
    people = _setup(city, django_db_blocker)
    server = live_server_mt

    _login_at(page, server, city, "madoguchi1", "総合窓口 1番")
    page.get_by_role("link", name="ホーム").click()
    page.get_by_role("link", name="受付データの出力").click()
    page.get_by_role("link", name="住民異動届", exact=True).click()
    assert page.get_by_role("heading", name="住民異動届の出力").is_visible()
    assert "マスクして出力" in page.locator("#protected-note").inner_text()
    assert axe_violations(page) == []
    filename, text = _download(page)
    assert filename.endswith("_masked.csv")
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["宛名番号"] == people["father"] and row["異動事由"] == "tenkyo"
    assert row["旧住所"] == MASK and row["支援措置マスク"] == "1" and "秘密町" not in text
    page.reload()
    history = page.get_by_role("heading", name="出力履歴").locator("xpath=..").inner_text()
    assert "住所マスク 1件" in history and "madoguchi1" in history

    operator = browser.new_page(viewport={"width": 1366, "height": 768}, locale="ja-JP")
    try:
        _login_at(operator, server, city, "renkei", "総合窓口 1番")
        operator.goto(server.url(city.slug, "/linkage/exports/juki_idou/"))
        assert "「支援措置の閲覧」の権限があります" in operator.locator("#protected-note").inner_text()
        operator.get_by_label("受付日で指定（出力済みを含む・再出力）").check()
        today = timezone.localdate().isoformat()
        operator.get_by_label("受付日（開始）").fill(today)
        operator.get_by_label("受付日（終了）").fill(today)
        filename, text = _download(operator)
    finally:
        operator.close()
    assert not filename.endswith("_masked.csv")
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["旧住所"] == SECRET and row["支援措置マスク"] == "0"

    with django_db_blocker.unblock(), in_tenant(city):
        downloads = [e for e in events_for_resident(atena_no=people["father"])
                     if e.action == "export" and e.target_type == "export_batch"]
        assert [(e.actor, e.details["protected_address"]) for e in downloads] == [("madoguchi1", "masked"),
                                                                                  ("renkei", "revealed")]
        assert all(e.residents == [people["father"]] for e in downloads)
        assert all(e.details["protected_residents"] == [people["father"]] for e in downloads)
        read = [e for e in events_for_resident(atena_no=people["father"]) if e.details.get("purpose") == "handback"]
        assert len(read) == 1 and read[0].actor == "madoguchi1"  # the hand-back's read of the true address

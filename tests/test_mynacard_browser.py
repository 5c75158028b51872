"""End to end through everything real: pcscd + vpcd + the software card, the station process
(``python -m mynacard.agent``) with its PIN pad on 127.0.0.1, the live server, and Chromium.

A resident at counter A types the PIN on the station's PIN pad; the card read fills the case open at A
(not the one open at counter B) and shows on A's case screen without a reload, with the MJ character of
the name and the card's old address flagged against the mirror."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from datetime import date

import pytest

from tests.cardstack import ROOT, make_resident
from tests.conftest import PASSWORD, axe_violations, browser_login, in_tenant, provisioned_counter

pytestmark = [pytest.mark.browser, pytest.mark.schema]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _setup(city, django_db_blocker, server_url: str):  # noqa: ANN001
    from mynacard.services import station_register
    from navigation.cases.services import case_open
    from tenants.accounts.models import Counter, Department, Desk, User
    from tenants.accounts.services import desk_sit, staff_create

    with django_db_blocker.unblock(), in_tenant(city):
        counter_a = provisioned_counter("総合窓口", name="総合窓口 1番", sort_order=1)  # created at provisioning
        dept = Department.objects.get(name="市民課")
        counter_b = Counter.objects.create(name="総合窓口 2番", department=dept, sort_order=2)
        desk_a = Desk.objects.create(counter=counter_a, name="1番席")
        desk_b = Desk.objects.create(counter=counter_b, name="1番席")
        mado_a = staff_create(actor=None, username="madoa", password=PASSWORD, display_name="窓口 A子",
                              areas="juki,kokuho", department=dept)
        mado_b = staff_create(actor=None, username="madob", password=PASSWORD, display_name="窓口 B男",
                              areas="juki,kokuho", department=dept)
        desk_sit(actor=mado_a, desk_id=desk_a.pk)
        desk_sit(actor=mado_b, desk_id=desk_b.pk)
        atena = make_resident(number="10000001", name="𠮷田　髙子", kana="ヨシダ タカコ", birth=date(1992, 3, 15),
                              sex="2", address="テスト市本町一丁目１番")
        newcomer = {"name": "来庁 者", "name_kana": "ライチョウ シャ", "birth_date": date(1990, 1, 1), "sex": "1"}
        case_a = case_open(actor=mado_a, counter=counter_a, newcomers=[newcomer])
        case_b = case_open(actor=mado_b, counter=counter_b, newcomers=[newcomer])
        issued = station_register(actor=User.objects.filter(role="admin").first(), desk_id=desk_a.pk,
                                  name="1番席のリーダー", server=server_url)
    return case_a, case_b, atena, issued.credential


def test_a_card_read_at_counter_a_fills_the_case_open_at_a_not_b(live_server_mt, browser, page, fresh_municipality,
                                                                 django_db_blocker, software_card, card_settings,
                                                                 tmp_path):
    city = fresh_municipality(areas="juki,kokuho")
    server = live_server_mt
    case_a, case_b, atena, credential = _setup(city, django_db_blocker, server.url(city.slug, "").rstrip("/"))
    credential_file = tmp_path / "station.json"
    credential_file.write_text(credential)
    pad_port = _free_port()
    agent = subprocess.Popen(
        [sys.executable, "-m", "mynacard.agent", "--credential", str(credential_file), "--reader",
         software_card.reader_name, "--pin-pad-port", str(pad_port), "--interval", "0.2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        software_card.remove() if software_card.inserted else None
        browser_login(page, server, city.slug, "madoa")
        page.wait_for_url("**/accounts/counter/**")
        page.get_by_label("総合窓口 1番").check()
        page.get_by_role("button", name="この窓口で開始").click()
        page.wait_for_url(server.url(city.slug, "/navi/cases/"))  # choosing a counter lands on 窓口受付
        page.goto(server.url(city.slug, f"/navi/cases/{case_a.pk}/"))
        panel = page.locator("#mynacard")
        # The station is running and connected; no card yet.
        panel.get_by_text("接続中").wait_for()
        panel.get_by_text("カードなし").wait_for()

        software_card.load(name="𠮷田　髙子", address="東京都千代田区霞が関２丁目１番１号", birth_date="19920315",
                           sex="2", pin="2468")
        panel.get_by_text("カードあり").wait_for()
        pad = browser.new_context(locale="ja-JP").new_page()
        pad.goto(f"http://127.0.0.1:{pad_port}/")
        pad.get_by_label("券面事項入力補助用の暗証番号（数字4桁）").fill("2468")
        pad.get_by_role("button", name="確定").click()
        pad.locator("#result").get_by_text("受付に反映しました").wait_for()

        # A's case screen shows the card without a reload.
        panel.locator(".mynacard-card__name").get_by_text("𠮷田　髙子").wait_for(timeout=10000)
        assert "𠮷" in panel.locator(".mynacard-card__name").inner_text()
        assert panel.locator(".mynacard-diff[data-field='address']").count() == 1
        assert re.search("カードの住所が古い可能性", panel.inner_text())
        assert axe_violations(page) == []

        with django_db_blocker.unblock(), in_tenant(city):
            from mynacard.models import CardHolding, CardRead
            from mynacard.selectors import card_binding_values
            from tenants.accounts.models import User

            reads = list(CardRead.objects.all())
            assert [(r.case_id, r.verified, r.atena_no) for r in reads] == [(case_a.pk, True, atena)]
            assert not CardRead.objects.filter(case_id=case_b.pk).exists()
            assert CardHolding.objects.filter(atena_no=atena).exists()
            # The binding source a form reads gets the name with its MJ character.
            values = card_binding_values(actor=User.objects.get(username="madoa"), case_id=case_a.pk)
            assert values["card.name"] == "𠮷田　髙子"
        # The PIN never left the station: nothing the server stored or logged contains it.
        with django_db_blocker.unblock(), in_tenant(city):
            from audit.models import AuditEvent

            assert "2468" not in " ".join(str(e.details) for e in AuditEvent.objects.all())
    finally:
        agent.terminate()
        try:
            agent.wait(timeout=10)
        except subprocess.TimeoutExpired:
            agent.kill()
        output = agent.stdout.read() if agent.stdout else ""
        assert "2468" not in output
        with django_db_blocker.unblock(), in_tenant(city):
            from mynacard.models import CardRead, JpkiChallenge, ReaderStation, StationNonce

            CardRead.objects.all().delete()
            JpkiChallenge.objects.all().delete()
            StationNonce.objects.all().delete()
            ReaderStation.objects.all().delete()

"""Browser (Chromium): a municipal admin edits a rule, sees validation in Japanese, tries it, publishes."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django_tenants.utils import schema_context

from navigation import services
from navigation.models import CatalogueVersion, Rule
from tests.conftest import axe_violations, browser_login

pytestmark = [pytest.mark.browser, pytest.mark.schema]

ALL = "juki,inkan,koseki,zei,kokuho,kaigo,kouki,jidou_teate,gakureibo"


def test_admin_edits_tries_and_publishes_a_rule(live_server_mt, page, fresh_municipality, django_db_blocker):  # noqa: ANN001
    city = fresh_municipality(areas=ALL)
    with django_db_blocker.unblock(), schema_context(city.schema_name):
        services.catalogue_install_default(effective_from=date(2026, 1, 1))
    csp_errors: list[str] = []
    page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    browser_login(page, live_server_mt, city.slug, "admin")
    page.wait_for_load_state()
    page.goto(live_server_mt.url(city.slug, "/"))
    page.get_by_role("link", name="手続カタログの編集").click()
    page.get_by_role("heading", name="手続カタログの編集", level=1).wait_for()
    assert "第1版" in page.locator("#versions-heading + table").inner_text()
    page.get_by_role("navigation", name="カタログの編集").get_by_role("link", name="判定ルール").click()
    page.locator("tr", has_text="kaigo_shutoku.age65").get_by_role("link").click()
    page.get_by_role("heading", name="判定ルール：kaigo_shutoku.age65").wait_for()  # the click's page load, not a race

    page.get_by_role("button", name="高度な表示（JsonLogic）").click()  # the raw view beside the visual editor
    condition = page.get_by_label("条件（JsonLogic）")
    condition.fill(json.dumps({"and": [{"var": "person.subject"}, {">=": [{"var": "person.agge"}, 60]}]}))
    page.get_by_role("button", name="下書きに保存").click()
    error = page.locator(".field--error .field__error").first
    error.wait_for()
    assert "未知の変数「person.agge」" in error.inner_text()
    assert page.get_by_label("条件（JsonLogic）").get_attribute("aria-invalid") == "true"

    page.get_by_label("条件（JsonLogic）").fill(
        json.dumps({"and": [{"var": "person.subject"}, {">=": [{"var": "person.age"}, 60]}]}))
    page.get_by_label("理由の文").fill("{person.name}さんは{person.age}歳です（試行：60歳以上）。")
    # try the unsaved condition on a sample household first
    panel = page.locator("section", has=page.get_by_role("heading", name="試す（下書きで判定）"))
    panel.get_by_label("転入", exact=True).check()
    panel.get_by_label("基準日（届出日）").fill("2026-06-01")
    panel.get_by_role("button", name="JSONで入力する（上級者向け）").click()
    panel.get_by_label("試す世帯（JSON）").fill(json.dumps(
        [{"key": "a", "name": "六十二歳", "birth_date": "1964-01-01"},
         {"key": "b", "name": "四十歳", "birth_date": "1986-01-01"}], ensure_ascii=False))
    panel.get_by_role("button", name="このルールと判定を試す").click()
    result = page.locator("#try-rule-result")
    result.wait_for()
    assert "六十二歳\t該当" in result.inner_text() and "四十歳\t非該当" in result.inner_text()
    assert "転入届" in page.locator("#try-procedures").inner_text()
    assert "次に尋ねる質問" in page.locator("#try-result").inner_text()

    page.get_by_role("button", name="下書きに保存").click()
    page.locator(".messages").wait_for()
    assert "下書きに保存しました" in page.locator(".messages").inner_text()
    assert axe_violations(page) == []

    page.get_by_role("link", name="概要・公開").click()
    assert "未公開の変更があります" in page.locator("#publish-state").inner_text()
    page.get_by_label("適用開始日").fill("2026-07-01")
    page.get_by_label("メモ").fill("介護の判定を試行")
    page.get_by_role("button", name="下書きを公開する").click()
    assert page.get_by_role("heading", name="公開の確認").is_visible()
    changed = page.locator(".publish-diff__list--changed").inner_text()
    assert "kaigo_shutoku.age65" in changed and "条件" in changed and "理由の文" in changed
    assert axe_violations(page) == []
    page.get_by_role("button", name="この内容で公開する").click()
    page.locator(".messages").wait_for()
    assert "第2版を公開しました（適用開始日 2026-07-01）" in page.locator(".messages").inner_text()
    assert axe_violations(page) == []
    assert csp_errors == []
    with django_db_blocker.unblock(), schema_context(city.schema_name):
        assert CatalogueVersion.objects.count() == 2
        assert Rule.objects.get(code="kaigo_shutoku.age65").condition["and"][1] == {">=": [{"var": "person.age"}, 60]}

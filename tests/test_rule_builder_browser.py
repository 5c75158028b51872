"""Rules without JSON (issue 17 item 9), in Chromium: an admin builds a condition from lists, in Japanese,
the JsonLogic view follows (and the other way round), the rule is saved and tried on a household entered
through a form."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django_tenants.utils import schema_context

from navigation import services
from navigation.models import Rule
from tests.conftest import axe_violations, browser_login

pytestmark = [pytest.mark.browser, pytest.mark.schema]

ALL = "juki,inkan,koseki,zei,kokuho,kaigo,kouki,jidou_teate,gakureibo"


def _raw(page) -> object:  # noqa: ANN001
    return json.loads(page.locator("#id_condition").input_value())


def test_admin_builds_a_rule_visually_and_tries_it_on_a_household_form(live_server_mt, page, fresh_municipality,
                                                                      django_db_blocker):
    city = fresh_municipality(areas=ALL)
    with django_db_blocker.unblock(), schema_context(city.schema_name):
        services.catalogue_install_default(effective_from=date(2026, 1, 1))
    csp_errors: list[str] = []
    page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    browser_login(page, live_server_mt, city.slug, "admin")
    page.wait_for_load_state()
    page.goto(live_server_mt.url(city.slug, "/navi/admin/rules/"))
    page.locator("tr", has_text="kaigo_shutoku.age65").get_by_role("link").click()
    assert page.get_by_role("heading", name="判定ルール：kaigo_shutoku.age65").is_visible()
    assert not page.locator("#id_condition").is_visible()  # JSON is the advanced view, closed by default
    builder = page.get_by_role("group", name="条件（項目と値を選んで組み立てます）")
    assert builder.is_visible()

    # Replace the condition: the person is the subject AND (aged 60 or more OR holds 国保).
    root = page.get_by_label("条件のまとめ方")
    assert root.input_value() == "and"
    while page.get_by_role("button", name="条件1を削除").count():
        page.get_by_role("button", name="条件1を削除").click()
    assert _raw(page) == {"and": []}
    page.get_by_role("button", name="条件を追加", exact=True).click()
    page.get_by_label("条件1の項目").select_option("person.subject")
    page.get_by_role("button", name="グループを追加（かつ／または）").click()
    page.get_by_label("条件2の項目").select_option("person.age")
    page.get_by_label("条件2の比べ方").select_option(">=")
    page.get_by_label("条件2の値").fill("60")
    page.get_by_role("group", name="条件（2）のグループ").get_by_role("button", name="条件を追加", exact=True).click()
    page.get_by_label("条件3の項目").select_option("person.elig.kokuho")
    assert page.get_by_label("条件（2）のまとめ方").input_value() == "or"
    expected = {"and": [{"var": "person.subject"},
                        {"or": [{">=": [{"var": "person.age"}, 60]}, {"var": "person.elig.kokuho"}]}]}
    assert _raw(page) == expected
    # The labels are Japanese, the codes only in brackets.
    assert "年齢（年齢計算ニ関スル法律" in page.get_by_label("条件2の項目").inner_text()

    # The advanced view edits the same condition: a change there rebuilds the visual editor.
    page.get_by_role("button", name="高度な表示（JsonLogic）").click()
    changed = {"and": [{"var": "person.subject"}, {"<": [{"var": "person.age"}, 75]}]}
    page.locator("#id_condition").fill(json.dumps(changed))
    assert page.get_by_label("条件2の比べ方").input_value() == "<"
    assert page.get_by_label("条件2の値").input_value() == "75"
    page.locator("#id_condition").fill("{broken")
    assert "JSONとして読めない" in builder.get_by_role("alert").inner_text()
    page.locator("#id_condition").fill(json.dumps(expected))
    assert builder.get_by_role("alert").is_hidden()

    # Try it on a household entered through the form, not JSON.
    panel = page.locator("section", has=page.get_by_role("heading", name="試す（下書きで判定）"))
    assert not panel.get_by_label("試す世帯（JSON）").is_visible()
    panel.get_by_label("転入", exact=True).check()
    panel.get_by_label("基準日（届出日）").fill("2026-06-01")
    while panel.get_by_role("button", name="世帯員1を削除").count():
        panel.get_by_role("button", name="世帯員1を削除").click()
    panel.get_by_role("button", name="世帯員を追加").click()
    panel.get_by_label("世帯員1の氏名").fill("六十二歳")
    panel.get_by_label("世帯員1の続柄").select_option("世帯主")
    panel.get_by_label("世帯員1の生年月日").fill("1964-01-01")
    panel.get_by_role("button", name="世帯員を追加").click()
    panel.get_by_label("世帯員2の氏名").fill("四十歳国保")
    panel.get_by_label("世帯員2の続柄").select_option("妻")
    panel.get_by_label("世帯員2の生年月日").fill("1986-01-01")
    panel.get_by_role("group", name="世帯員2の資格").get_by_label("国民健康保険 被保険者").check()
    panel.get_by_role("button", name="世帯員を追加").click()
    panel.get_by_label("世帯員3の氏名").fill("三十歳")
    panel.get_by_label("世帯員3の続柄").select_option("子")
    panel.get_by_label("世帯員3の生年月日").fill("1996-01-01")
    persons = json.loads(panel.locator("#id_try-persons").input_value())
    assert [p["name"] for p in persons] == ["六十二歳", "四十歳国保", "三十歳"]
    assert persons[1]["eligibilities"] == ["kokuho"] and persons[0]["relationship"] == "世帯主"
    panel.get_by_role("button", name="このルールと判定を試す").click()
    result = page.locator("#try-rule-result")
    result.wait_for()
    text = result.inner_text()
    assert "六十二歳\t該当" in text and "四十歳国保\t該当" in text and "三十歳\t非該当" in text
    assert axe_violations(page) == []

    page.get_by_label("理由の文").fill("{person.name}さんは条件に該当します（試行）。")
    page.get_by_role("button", name="下書きに保存").click()
    page.locator(".messages").wait_for()
    with django_db_blocker.unblock(), schema_context(city.schema_name):
        assert Rule.objects.get(code="kaigo_shutoku.age65").condition == expected
    # Reopened, the saved condition is shown in the visual editor again.
    page.goto(live_server_mt.url(city.slug, "/navi/admin/rules/"))
    page.locator("tr", has_text="kaigo_shutoku.age65").get_by_role("link").click()
    assert page.get_by_label("条件3の項目").input_value() == "person.elig.kokuho"
    assert axe_violations(page) == []
    assert csp_errors == []

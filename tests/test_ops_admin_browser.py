"""The ops (vendor) admin in Japanese under our strict CSP (issue 17 item 14), in Chromium: model and field names
are Japanese (no `Schema name`, `Data key destroyed at`, `Created at`), and Django admin's own scripts work —
the action checkbox of the list, the date shortcuts of the change form — with no CSP violation reported."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.conftest import PASSWORD, axe_violations

pytestmark = [pytest.mark.browser]

# Recorded by the page itself (an init script runs outside the page's CSP) on every document of the context.
# Reported to the test through a binding, so a violation on any page of the walk counts.
LISTEN = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.cspViolation([e.violatedDirective, e.blockedURI || "inline", document.location.pathname,
                       e.sourceFile + ":" + e.lineNumber, e.sample].join(" "));
});
"""


@pytest.fixture
def operator(django_db_blocker):  # noqa: ANN001
    """A vendor operator in the public schema, committed for the live server and removed afterwards."""
    from tenants.accounts.models import User

    with django_db_blocker.unblock():
        user = User.objects.create_superuser("ops-browser", "ops-browser@example.jp", PASSWORD)
    yield user
    with django_db_blocker.unblock():
        # Not .delete(): its cascade follows foreign keys into tenant tables that public does not have.
        User.objects.filter(pk=user.pk)._raw_delete(User.objects.db)


def test_ops_admin_is_japanese_and_its_scripts_run_under_the_csp(live_server_mt, page, operator):
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type in ("error", "warning") else None)
    violations: list[str] = []
    page.expose_binding("cspViolation", lambda source, text: violations.append(text))
    page.add_init_script(LISTEN)
    base = f"http://{settings.OPS_HOST}:{live_server_mt.port}"

    def axe() -> list[dict]:
        # axe-core (injected by the test, not the page) adds <style> elements the CSP reports: not the admin's.
        before, logged = len(violations), len(console)
        found = axe_violations(page)
        del violations[before:], console[logged:]
        return found

    page.goto(f"{base}/admin/login/")
    assert page.locator("html").get_attribute("lang") == "ja"
    page.locator("#id_username").fill(operator.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"{base}/admin/")
    assert page.get_by_role("heading", name="自治体・契約の管理").is_visible()
    assert page.get_by_role("link", name="自治体", exact=True).first.is_visible()

    # The list: Japanese column names, and admin's actions.js selects every row from the header checkbox.
    page.goto(f"{base}/admin/tenants/municipality/")
    header = page.locator("#result_list thead").inner_text()
    assert "全国地方公共団体コード" in header and "プラン（契約業務）" in header and "契約開始日" in header
    rows = page.locator("#result_list tbody input.action-select")
    assert rows.count() >= 2
    page.locator("#action-toggle").check()
    assert all(rows.nth(i).is_checked() for i in range(rows.count()))
    assert page.locator(".action-counter").inner_text() == f"{rows.count()}個中{rows.count()}個選択"
    assert "選択した自治体を利用停止にする" in page.locator("select[name=action]").inner_text()
    page.locator("#action-toggle").uncheck()
    assert axe() == []

    # The change form: readonly fields named in Japanese; the date widget's 「今日」 shortcut (DateTimeShortcuts.js)
    # fills the field.
    page.locator("#result_list tbody a").first.click()
    page.wait_for_selector("#municipality_form")
    body = page.locator("#municipality_form").inner_text()
    for label in ("スキーマ名", "データ鍵の破棄日時", "登録日時", "更新日時", "停止理由"):
        assert label in body, label
    for english in ("Schema name", "Data key destroyed at", "Created at", "Updated at"):
        assert english not in body, english
    page.locator("#id_contract_end").fill("")
    page.locator(".field-contract_end .datetimeshortcuts a", has_text="今日").click()
    assert page.locator("#id_contract_end").input_value() != ""
    page.locator(".field-contract_end .datetimeshortcuts a[id^=calendarlink]").click()
    assert page.locator(".calendarbox:visible").count() == 1
    page.keyboard.press("Escape")
    assert axe() == []

    # Domains: Japanese field names too.
    page.goto(f"{base}/admin/tenants/domain/")
    header = page.locator("#result_list thead").inner_text()
    assert "ドメイン名" in header and "主ドメイン" in header and "Is primary" not in header

    assert violations == [], violations
    assert not [text for text in console if "Content Security Policy" in text or "Refused" in text], console
    found = axe()
    assert found == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in found]

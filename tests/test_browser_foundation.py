"""Browser (real Chromium via Playwright): staff login, home page, Japanese errors, accessibility."""

import pytest

from tenants.accounts.services import GENERIC_LOGIN_ERROR
from tests.conftest import CITY_A, PASSWORD, axe_violations, browser_login

pytestmark = pytest.mark.browser


def test_staff_logs_in_picks_counter_and_sees_home(live_server_mt, page):
    csp_errors: list[str] = []
    page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    browser_login(page, live_server_mt, CITY_A, "staff1")
    page.wait_for_url("**/accounts/counter/")
    assert page.locator("h1").inner_text() == "窓口の選択"
    assert axe_violations(page) == []
    page.get_by_label("総合窓口 1番").check()
    page.get_by_role("button", name="この窓口で開始").click()
    page.wait_for_url(live_server_mt.url(CITY_A, "/navi/cases/"))  # 窓口受付, where the counter's work is
    header = page.locator("header").inner_text()
    assert "テストA市" in header and "窓口 一郎" in header and "総合窓口 1番" in header
    assert page.get_by_role("heading", name="窓口受付：総合窓口 1番").is_visible()
    assert "「総合窓口 1番」で業務を開始します。" in page.locator(".messages").inner_text()
    assert axe_violations(page) == []
    assert csp_errors == []  # everything works under the strict policy
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_url("**/accounts/login/")
    assert "ログアウトしました。" in page.content()


def test_wrong_password_shows_japanese_error_and_page_is_accessible(live_server_mt, page):
    browser_login(page, live_server_mt, CITY_A, "staff2", password="Wrong-password-9")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().strip() == GENERIC_LOGIN_ERROR  # the same for unknown, wrong and locked
    assert page.locator("html").get_attribute("lang") == "ja"
    assert axe_violations(page) == []


def test_login_is_keyboard_operable_at_1366x768(live_server_mt, page):
    page.goto(live_server_mt.url(CITY_A, "/accounts/login/"))
    assert page.evaluate("document.activeElement.name") == "username"  # autofocus on the user ID
    page.keyboard.type("leader")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/accounts/counter/")
    assert page.viewport_size == {"width": 1366, "height": 768}
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366  # no horizontal scrolling at the counter's screen size


def test_admin_counter_screen_is_accessible(live_server_mt, page):
    browser_login(page, live_server_mt, CITY_A, "admin")
    page.wait_for_url("**/accounts/counter/")
    page.goto(live_server_mt.url(CITY_A, "/accounts/admin/counters/"))
    assert page.get_by_role("heading", name="窓口の管理").is_visible()
    page.get_by_role("button", name="保存").click()  # empty form: errors named per field
    assert page.locator(".field__error").first.is_visible()
    assert axe_violations(page) == []


def test_admin_screens_for_staff_and_api_clients_are_accessible(live_server_mt, page):
    browser_login(page, live_server_mt, CITY_A, "admin")
    page.wait_for_url("**/accounts/counter/")
    screens = (("/accounts/admin/staff/", "職員の管理"), ("/accounts/admin/api-clients/", "APIクライアント"))
    for path, heading in screens:
        page.goto(live_server_mt.url(CITY_A, path))
        assert page.get_by_role("heading", name=heading, exact=True).is_visible()
        assert axe_violations(page) == [], path
    page.goto(live_server_mt.url(CITY_A, "/"))
    assert axe_violations(page) == []


def test_an_english_browser_sees_japanese_until_the_staff_member_switches(live_server_mt, browser):
    """Edge set to English at a counter PC: still Japanese; the header's switch gives English, and back."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    try:
        page = context.new_page()
        page.goto(live_server_mt.url(CITY_A, "/accounts/login/"))
        assert page.locator("h1").inner_text() == "職員ログイン"
        assert page.locator("html").get_attribute("lang") == "ja"
        page.get_by_label("表示言語").select_option("en")
        page.get_by_role("button", name="切替").click()
        page.wait_for_url("**/accounts/login/")
        assert page.locator("h1").inner_text() == "Staff login"
        assert page.locator("html").get_attribute("lang") == "en"
        assert axe_violations(page) == []
        page.get_by_label("User ID").fill("staff1")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/accounts/counter/")
        assert "Choose the counter you are sitting at." in page.content()
        page.get_by_label("Language").select_option("ja")
        page.get_by_role("button", name="Switch").click()
        page.wait_for_url("**/accounts/counter/")
        assert page.locator("h1").inner_text() == "窓口の選択"
    finally:
        context.close()

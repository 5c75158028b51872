"""Session expiry that loses no work (issue 17 item 7): warning and extension, the queue poll after expiry,
a memo posted after expiry kept through the login, and the return to a page rather than a POST-only URL."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import override_settings
from playwright.sync_api import expect

from tenants.accounts.sessions import DEADLINE_KEY, PENDING_KEY
from tests.conftest import PASSWORD, axe_violations, browser_login, in_tenant, staff_client, wait_until


def _expire(client, tenant) -> None:  # noqa: ANN001
    with in_tenant(tenant):
        session = SessionStore(session_key=client.cookies["madoguchi_session"].value)
        session[DEADLINE_KEY] = time.time() - 1
        session.save()


def test_a_signed_in_session_has_a_deadline_that_polling_does_not_move(tenant_a):
    client = staff_client(tenant_a, "staff1")
    first = client.get("/navi/cases/")
    deadline = int(re.search(r'data-session-deadline="(\d+)"', first.content.decode()).group(1))
    assert abs(deadline - (time.time() + 8 * 3600)) < 60
    client.get("/navi/cases/queue/", HTTP_HX_REQUEST="true")
    again = client.get("/navi/cases/")
    assert int(re.search(r'data-session-deadline="(\d+)"', again.content.decode()).group(1)) == deadline


@override_settings(SESSION_COOKIE_AGE=600)
def test_extend_moves_the_deadline_and_needs_a_post_by_a_signed_in_user(tenant_a):
    client = staff_client(tenant_a, "staff1")
    client.get("/navi/cases/")
    with in_tenant(tenant_a):
        before = SessionStore(session_key=client.cookies["madoguchi_session"].value)[DEADLINE_KEY]
    time.sleep(1.1)
    response = client.post("/accounts/session/extend/")
    assert response.status_code == 200 and response.json()["deadline"] >= int(before) + 1
    assert client.get("/accounts/session/extend/").status_code == 405
    _expire(client, tenant_a)
    assert client.post("/accounts/session/extend/").status_code == 401


def test_the_queue_poll_after_expiry_says_log_in_again_and_stops_polling(tenant_a):
    client = staff_client(tenant_a, "staff1")
    client.get("/navi/cases/")
    _expire(client, tenant_a)
    response = client.get("/navi/cases/queue/", HTTP_HX_REQUEST="true",
                          HTTP_HX_CURRENT_URL=f"http://{tenant_a.slug}.localhost/navi/cases/")
    body = response.content.decode()
    assert response.status_code == 286  # htmx stops polling on 286
    assert "ログインし直してください" in body and "<html" not in body
    assert "next=%2Fnavi%2Fcases%2F" in body
    assert response["HX-Trigger"] == "madoguchi:session-expired"


def test_a_memo_posted_after_expiry_is_kept_and_the_login_returns_to_the_page(tenant_a):
    client = staff_client(tenant_a, "staff1")
    client.get("/navi/cases/")
    _expire(client, tenant_a)
    page = f"http://{tenant_a.slug}.localhost/navi/cases/persons/900000001/"
    response = client.post("/navi/cases/persons/900000001/memos/",
                           {"body": "年金の相談もしたいとのこと", "visibility": "all", "password": "secret!"},
                           HTTP_REFERER=page)
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=%2Fnavi%2Fcases%2Fpersons%2F900000001%2F"  # not the POST URL
    with in_tenant(tenant_a):
        kept = SessionStore(session_key=client.cookies["madoguchi_session"].value)[PENDING_KEY]
    assert kept["fields"] == [["body", "年金の相談もしたいとのこと"], ["visibility", "all"]]  # no secrets kept
    login = client.post("/accounts/login/?next=%2Fnavi%2Fcases%2Fpersons%2F900000001%2F",
                        {"username": "staff1", "password": PASSWORD})
    assert login.status_code == 302 and login.url == "/navi/cases/persons/900000001/"
    other = client.get("/navi/cases/").content.decode()
    assert 'id="pending-form"' not in other  # only on the page the form came from
    html = client.get("/navi/cases/persons/900000001/").content.decode()
    data = json.loads(re.search(r'<script id="pending-form" type="application/json">(.*?)</script>', html).group(1))
    assert data == {"action": "/navi/cases/persons/900000001/memos/",
                    "fields": [["body", "年金の相談もしたいとのこと"], ["visibility", "all"]]}
    assert 'id="pending-form"' not in client.get("/navi/cases/persons/900000001/").content.decode()  # once


def test_a_post_without_a_known_page_goes_home_after_login_not_to_the_post_url(tenant_a):
    client = staff_client(tenant_a, "staff1")
    client.get("/navi/cases/")
    _expire(client, tenant_a)
    response = client.post("/navi/cases/persons/900000001/memos/", {"body": "x"})
    assert response.status_code == 302 and response.url == "/accounts/login/"


@pytest.mark.browser
@pytest.mark.schema
def test_warning_extension_expiry_and_a_memo_kept_in_the_browser(live_server_mt, page, fresh_municipality,
                                                               django_db_blocker, settings):
    from tests.test_cases_browser import _setup_city

    city = fresh_municipality(areas="juki,kokuho")
    atena_no = _setup_city(city, django_db_blocker)
    settings.SESSION_WARNING_SECONDS = settings.SESSION_COOKIE_AGE + 60  # the warning is due at once
    browser_login(page, live_server_mt, city.slug, "uketsuke")
    page.wait_for_url("**/accounts/counter/**")
    page.goto(live_server_mt.url(city.slug, "/navi/cases/"))
    banner = page.get_by_role("alertdialog")
    assert "まもなくログインの有効期限" in banner.inner_text()
    assert axe_violations(page) == []
    before = int(page.locator("body").get_attribute("data-session-deadline"))
    time.sleep(1.1)
    page.get_by_role("button", name="ログインを延長する").click()
    wait_until(lambda: int(page.locator("body").get_attribute("data-session-deadline")) > before, timeout=10)
    assert "まで延長しました" in page.locator("#session-status").inner_text()

    # The session ends on the server: the queue poll says so in its panel, not with the login page inside.
    cookie = next(c for c in page.context.cookies() if c["name"] == "madoguchi_session")
    with django_db_blocker.unblock(), in_tenant(city):
        session = SessionStore(session_key=cookie["value"])
        session[DEADLINE_KEY] = time.time() - 1
        session.save()
    page.locator("#queue .login-again").wait_for(timeout=15000)
    assert "ログインし直してください" in page.locator("#queue").inner_text()
    assert page.locator("#queue form[action$='/accounts/login/']").count() == 0
    assert "ログインの有効期限が切れました" in banner.inner_text()

    # A memo typed on a page loaded before the end is not lost.
    browser_login(page, live_server_mt, city.slug, "uketsuke")
    page.wait_for_url("**/accounts/counter/**")
    page.goto(live_server_mt.url(city.slug, f"/navi/cases/persons/{atena_no}/"))
    page.get_by_role("textbox", name="メモ 必須").fill("年金の相談もしたいとのこと（期限切れの後に保存）")
    cookie = next(c for c in page.context.cookies() if c["name"] == "madoguchi_session")
    with django_db_blocker.unblock(), in_tenant(city):
        session = SessionStore(session_key=cookie["value"])
        session[DEADLINE_KEY] = time.time() - 1
        session.save()
    page.get_by_role("button", name="メモを保存").click()
    page.wait_for_url("**/accounts/login/**")
    page.get_by_label("ユーザーID").fill("uketsuke")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(live_server_mt.url(city.slug, f"/navi/cases/persons/{atena_no}/"))
    memo = "年金の相談もしたいとのこと（期限切れの後に保存）"
    assert page.get_by_role("textbox", name="メモ 必須").input_value() == memo
    assert "送信できなかった内容を戻しました" in page.locator(".alert--warning[role='alert']").first.inner_text()
    page.get_by_role("button", name="メモを保存").click()
    # the person page's forms change the page by htmx (hx-boost): wait for the saved memo
    expect(page.get_by_text("年金の相談もしたいとのこと（期限切れの後に保存）")).to_be_visible()
    assert axe_violations(page) == []

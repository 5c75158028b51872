"""Staff accounts: login rules, lockout, rate limiting, counters, roles, API clients."""

import re

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client, override_settings

from tenants.accounts import services
from tenants.accounts.models import ApiClient, Counter, User
from tests.conftest import CITY_A, PASSWORD, in_tenant, staff_client


def _login(username, password, ip="10.0.0.1"):
    return Client(HTTP_HOST=CITY_A.host, REMOTE_ADDR=ip).post(
        "/accounts/login/", {"username": username, "password": password}
    )


def test_login_page_is_japanese_and_has_no_inline_script(tenant_a):
    response = Client(HTTP_HOST=CITY_A.host).get("/accounts/login/")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ja">' in body and "職員ログイン" in body and "ユーザーID" in body
    assert "<script>" not in body and "style=" not in body
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp


def test_successful_login_goes_to_counter_selection_then_the_counter_screen(tenant_a):
    client = Client(HTTP_HOST=CITY_A.host)
    login_page = client.get("/accounts/login/").content.decode()
    assert re.search(r'<input[^>]*name="username"[^>]*autofocus', login_page)  # autofocus on the user ID
    response = client.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/counter/"
    with in_tenant(tenant_a):
        counter = Counter.objects.get(name="総合窓口 2番")
    response = client.post("/accounts/counter/", {"counter": counter.pk})
    assert response.status_code == 302 and response["Location"] == "/navi/cases/"  # 窓口受付, not a generic home
    home = client.get("/navi/cases/").content.decode()
    assert "総合窓口 2番" in home and "窓口 一郎" in home


def test_the_counter_is_remembered_per_staff_member_and_browser(tenant_a):
    with in_tenant(tenant_a):
        counter = Counter.objects.get(name="総合窓口 2番")
    browser = Client(HTTP_HOST=CITY_A.host)
    browser.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    browser.post("/accounts/counter/", {"counter": counter.pk})
    browser.post("/accounts/logout/")
    browser.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    again = browser.get("/accounts/counter/")
    assert again.status_code == 302 and again["Location"] == "/navi/cases/"  # started at the remembered counter
    assert "総合窓口 2番" in browser.get("/navi/cases/").content.decode()
    assert browser.get("/accounts/counter/").status_code == 200  # changing it is one link away
    # Another staff member in the same browser, and the same staff member in another browser: no memory.
    browser.post("/accounts/logout/")
    browser.post("/accounts/login/", {"username": "staff2", "password": PASSWORD})
    assert browser.get("/accounts/counter/").status_code == 200
    other = Client(HTTP_HOST=CITY_A.host)
    other.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    assert other.get("/accounts/counter/").status_code == 200
    # A forged cookie is ignored.
    forged = Client(HTTP_HOST=CITY_A.host)
    forged.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    with in_tenant(tenant_a):
        user_pk = User.objects.get(username="staff1").pk
    forged.cookies[f"madoguchi_counter_{user_pk}"] = str(counter.pk)
    assert forged.get("/accounts/counter/").status_code == 200


def _answer(response) -> tuple[int, str]:
    """What an attacker sees of a failed login: the status and the page (the CSRF token aside)."""
    import re

    body = response.content.decode()
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    body = re.sub(r'name="csrf-token"\s+content="[^"]+"', "", body)
    return response.status_code, re.sub(r"リクエストID: [0-9a-f]+", "", body)


def test_unknown_wrong_password_and_locked_give_the_same_answer(tenant_a):
    """No user enumeration (issue 11, finding 5): the same status and the same page, byte for byte."""
    for _ in range(settings.LOGIN_MAX_FAILURES):
        assert _login("staff2", "Wrong-password-123", ip="10.0.0.7").status_code == 401
        assert _login("nobody", "Wrong-password-123", ip="10.0.0.8").status_code == 401
    unknown = _answer(_login("nobody", "Whatever-password-1"))
    wrong = _answer(_login("staff1", "Whatever-password-1"))
    locked_right_password = _answer(_login("staff2", PASSWORD, ip="10.0.0.7"))
    locked_unknown = _answer(_login("nobody", "Whatever-password-1", ip="10.0.0.8"))
    assert unknown[0] == 401
    # The user name is echoed back in the form, so compare pages for the same name where it differs.
    assert unknown[1].replace("nobody", "X") == wrong[1].replace("staff1", "X")
    assert locked_right_password[1].replace("staff2", "X") == wrong[1].replace("staff1", "X")
    assert locked_unknown == unknown
    assert {unknown[0], wrong[0], locked_right_password[0], locked_unknown[0]} == {401}
    assert "ユーザーIDまたはパスワードが正しくありません。" in unknown[1] and "ロック" not in unknown[1]


def test_failures_lock_the_account_from_that_address_only(tenant_a):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        assert _login("staff2", "Wrong-password-123", ip="10.0.0.7").status_code == 401
    assert _login("staff2", PASSWORD, ip="10.0.0.7").status_code == 401  # the right password, same address
    assert _login("staff2", PASSWORD, ip="10.0.0.9").status_code == 302  # another address
    with in_tenant(tenant_a):
        from audit.models import AuditEvent
        from tenants.accounts.models import LoginThrottle

        user = User.objects.get(username="staff2")
        lock = LoginThrottle.objects.get(username="staff2", client_ip="10.0.0.7")
        assert lock.locked_until is not None
        assert AuditEvent.objects.filter(action="lockout", target_id=str(user.pk)).exists()
        assert AuditEvent.objects.filter(action="login_failed", target_id=str(user.pk),
                                         details__reason="locked").exists()


def test_a_hundred_wrong_tries_from_one_address_leave_the_account_usable_from_another(tenant_a):
    """The predictable ``admin`` account cannot be locked out of the municipality from one machine."""
    answers = {_login("admin", f"Wrong-password-{n}", ip="203.0.113.5").status_code for n in range(100)}
    assert answers == {401, 429}  # refused, then rate-limited for that address
    assert _login("admin", PASSWORD, ip="203.0.113.5").status_code in (401, 429)
    response = _login("admin", PASSWORD, ip="198.51.100.7")
    assert response.status_code == 302 and response["Location"] == "/accounts/counter/"


@override_settings(LOGIN_RATE_PER_MINUTE=3)
def test_login_rate_limit_per_client_address(tenant_a):
    for index in range(3):
        _login(f"nobody{index}", "Wrong-password-123", ip="10.9.9.9")
    limited = _login("staff1", PASSWORD, ip="10.9.9.9")
    assert limited.status_code == 429 and "試行回数が多すぎます" in limited.content.decode()
    assert _login("staff1", PASSWORD, ip="10.9.9.10").status_code == 302


@pytest.mark.parametrize(
    ("password", "fragment"),
    [("short-1A", "12"), ("alllowercaseletters", "3種類"), ("123456789012345", "数字しか"), ("password12345", None)],
)
def test_password_rules(in_a, password, fragment):
    with pytest.raises(ValidationError) as excinfo:
        services.staff_create(actor=None, username="newbie", password=password)
    if fragment:
        assert any(fragment in message for message in excinfo.value.messages)


def test_strong_password_accepted_and_areas_validated(in_a):
    user = services.staff_create(actor=None, username="newbie", password="Kagoshima-2026!", areas="juki,kokuho")
    assert user.areas == ["juki", "kokuho"] and user.can_handle("kokuho") and not user.can_handle("kaigo")
    with pytest.raises(ValueError, match="未知の業務コード: xyz"):
        services.staff_create(actor=None, username="other", password="Kagoshima-2026!", areas="juki,xyz")


def test_counter_admin_is_for_municipal_admins_only(tenant_a):
    assert staff_client(tenant_a, "staff1").get("/accounts/admin/counters/").status_code == 403
    with in_tenant(tenant_a):
        staff = User.objects.get(username="staff1")
        with pytest.raises(PermissionDenied):
            services.counter_save(actor=staff, name="勝手な窓口", kind="general")
    admin = staff_client(tenant_a, "admin")
    response = admin.post("/accounts/admin/counters/",
                          {"name": "市民課 臨時窓口", "kind": "general", "location": "1階ロビー", "sort_order": 5,
                           "is_active": "on"})
    assert response.status_code == 302
    with in_tenant(tenant_a):
        assert Counter.objects.filter(name="市民課 臨時窓口", location="1階ロビー").exists()


def test_counter_form_reports_duplicate_name_on_the_field(tenant_a):
    admin = staff_client(tenant_a, "admin")
    response = admin.post("/accounts/admin/counters/", {"name": "証明窓口", "kind": "certificate", "sort_order": 0})
    assert response.status_code == 200
    assert "窓口名" in response.content.decode() and 'aria-invalid="true"' in response.content.decode()


def test_staff_home_lists_only_what_the_user_may_do(tenant_a):
    staff_home = staff_client(tenant_a, "staff1").get("/").content.decode()
    admin_home = staff_client(tenant_a, "admin").get("/").content.decode()
    assert "窓口の管理" not in staff_home and "窓口の管理" in admin_home
    assert "APIクライアント" in admin_home


def test_api_client_token_is_shown_once_and_stored_hashed(tenant_a):
    admin = staff_client(tenant_a, "admin")
    response = admin.post("/accounts/admin/api-clients/", {"name": "住民記録システム", "scopes": ["linkage:write"]})
    body = response.content.decode()
    assert "二度と表示されません" in body
    token = body.split('id="issued-token">')[1].split("<")[0]
    with in_tenant(tenant_a):
        client = ApiClient.objects.get(name="住民記録システム")
    assert client.token_hash == ApiClient.hash_token(token) and token not in str(client.__dict__)
    assert token not in admin.get("/accounts/admin/api-clients/").content.decode()
    api = Client(HTTP_HOST=CITY_A.host)
    me = api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert me == {"kind": "api_client", "name": "住民記録システム", "scopes": ["linkage:write"],
                  "municipality": CITY_A.code, "schema": tenant_a.schema_name}
    admin.post(f"/accounts/admin/api-clients/{client.pk}/revoke/")
    assert api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_api_requires_authentication_and_schema_is_published(tenant_a):
    api = Client(HTTP_HOST=CITY_A.host)
    assert api.get("/api/v1/").status_code in (401, 403)
    assert api.get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401
    schema = api.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/me/" in schema.content
    assert api.get("/api/docs/").status_code == 200


def test_logout_requires_post_and_csrf(tenant_a):
    client = Client(HTTP_HOST=CITY_A.host, enforce_csrf_checks=True)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    assert response.status_code == 403 and "有効期限" in response.content.decode()


def test_session_cookie_is_hardened(tenant_a):
    client = Client(HTTP_HOST=CITY_A.host)
    client.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["domain"]  # host-only: never shared between municipalities' hosts

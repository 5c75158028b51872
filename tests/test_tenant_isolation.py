"""Tenant isolation: each test is a real attempt to cross from city A to city B."""

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import CITY_A, CITY_B, PASSWORD, in_tenant, staff_client


def test_rows_of_a_are_invisible_on_b_host(tenant_a, tenant_b):
    from tenants.accounts.models import Counter

    with in_tenant(tenant_a):
        Counter.objects.create(name="A市だけの窓口", kind=Counter.Kind.GENERAL)
    admin_a = staff_client(tenant_a, "admin")
    admin_b = staff_client(tenant_b, "admin")
    assert "A市だけの窓口" in admin_a.get("/accounts/admin/counters/").content.decode()
    page_b = admin_b.get("/accounts/admin/counters/")
    assert page_b.status_code == 200
    assert "A市だけの窓口" not in page_b.content.decode()
    with in_tenant(tenant_b):
        assert not Counter.objects.filter(name="A市だけの窓口").exists()


def test_staff_of_a_cannot_log_in_at_b(tenant_a, tenant_b):
    from tenants.accounts.services import staff_create

    with in_tenant(tenant_a):
        staff_create(actor=None, username="only-in-a", password=PASSWORD, display_name="A市職員")
    response_a = Client(HTTP_HOST=CITY_A.host).post("/accounts/login/", {"username": "only-in-a", "password": PASSWORD})
    assert response_a.status_code == 302
    response_b = Client(HTTP_HOST=CITY_B.host).post("/accounts/login/", {"username": "only-in-a", "password": PASSWORD})
    assert response_b.status_code == 401
    assert "ユーザーIDまたはパスワードが正しくありません" in response_b.content.decode()


def test_session_cookie_of_a_is_rejected_at_b(tenant_a, tenant_b):
    client_a = Client(HTTP_HOST=CITY_A.host)
    assert client_a.post("/accounts/login/", {"username": "staff1", "password": PASSWORD}).status_code == 302
    cookie = client_a.cookies[settings.SESSION_COOKIE_NAME].value
    assert client_a.get("/").status_code == 200
    client_b = Client(HTTP_HOST=CITY_B.host)
    client_b.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = client_b.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_session_key_present_in_both_schemas_is_still_rejected(tenant_a, tenant_b):
    """Defence in depth: even a session row copied into B's schema does not log anyone in at B."""
    from django.contrib.sessions.models import Session

    client_a = Client(HTTP_HOST=CITY_A.host)
    client_a.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    key = client_a.cookies[settings.SESSION_COOKIE_NAME].value
    from tenants.accounts.models import User

    with in_tenant(tenant_a):
        row = Session.objects.get(session_key=key)
        user_a = User.objects.get(username="staff1")
    with in_tenant(tenant_b):
        Session.objects.create(session_key=key, session_data=row.session_data, expire_date=row.expire_date)
        # The same user id and the same password hash in B: Django's own session checks (user exists,
        # session auth hash) all pass, so only the schema binding can refuse the session.
        user_b = User.objects.get(username="staff1")
        assert user_b.pk == user_a.pk
        User.objects.filter(pk=user_b.pk).update(password=user_a.password)
    client_b = Client(HTTP_HOST=CITY_B.host)
    client_b.cookies[settings.SESSION_COOKIE_NAME] = key
    refused = client_b.get("/")
    assert refused.status_code == 302 and refused["Location"].startswith("/accounts/login/")
    # The same cookie at A is a live session (the control that the cookie itself is good).
    at_a = Client(HTTP_HOST=CITY_A.host)
    at_a.cookies[settings.SESSION_COOKIE_NAME] = key
    assert at_a.get("/").status_code == 200


def test_api_token_of_a_is_refused_at_b(tenant_a, tenant_b):
    from tenants.accounts.models import User
    from tenants.accounts.services import api_client_create

    with in_tenant(tenant_a):
        issued = api_client_create(actor=User.objects.get(username="admin"), name="住民記録システム")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issued.token}"}
    ok = Client(HTTP_HOST=CITY_A.host).get("/api/v1/me/", **auth)
    assert ok.status_code == 200 and ok.json()["municipality"] == CITY_A.code
    refused = Client(HTTP_HOST=CITY_B.host).get("/api/v1/me/", **auth)
    assert refused.status_code == 401


@pytest.mark.parametrize("host", ["nowhere.localhost", "127.0.0.1", "localhost", "testa.example.com"])
def test_unknown_host_is_404(db, host):
    response = Client(HTTP_HOST=host).get("/accounts/login/")
    assert response.status_code in (400, 404)
    assert "login" not in response.content.decode().lower() or response.status_code == 400


def test_ops_admin_exposes_no_tenant_rows(tenant_a, django_user_model):
    from tenants.accounts.models import Counter

    with in_tenant(tenant_a):
        Counter.objects.create(name="テナントの秘密の窓口")
    operator = django_user_model.objects.create_superuser("operator", "ops@example.jp", PASSWORD)
    ops = Client(HTTP_HOST=settings.OPS_HOST)
    ops.force_login(operator)
    index = ops.get("/admin/").content.decode()
    assert "自治体" in index
    for tenant_model in ("counter", "apiclient", "department", "auditevent"):
        assert f"/admin/accounts/{tenant_model}/" not in index
        assert f"/admin/audit/{tenant_model}/" not in index
    users = ops.get("/admin/accounts/user/").content.decode()
    assert "operator" in users and "staff1" not in users
    assert ops.get("/admin/accounts/counter/").status_code == 404
    listing = ops.get("/admin/tenants/municipality/").content.decode()
    assert CITY_A.name in listing and "テナントの秘密の窓口" not in listing


def test_tenant_host_has_no_django_admin(tenant_a):
    assert Client(HTTP_HOST=CITY_A.host).get("/admin/").status_code == 404

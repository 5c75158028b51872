"""Provisioning, suspension and termination of municipalities; the vendor-ops admin form."""

import time

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_exists

from audit.models import AuditEvent
from tenants import crypto, services
from tenants.accounts.models import User
from tenants.models import Domain, Municipality
from tests.conftest import PASSWORD, drop_municipality, in_tenant


@pytest.mark.schema
def test_provisioned_municipality_is_usable_at_once(fresh_municipality, django_db_blocker):
    municipality = fresh_municipality(areas="juki,kokuho,kaigo")
    with django_db_blocker.unblock():
        assert schema_exists(municipality.schema_name)
        assert municipality.prefecture and municipality.areas == ["juki", "kokuho", "kaigo"]
        assert Domain.objects.get(tenant=municipality).domain == f"{municipality.slug}.{settings.BASE_DOMAIN}"
        token = crypto.encrypt(municipality, "123456789018", purpose="personal_no")
        assert crypto.decrypt(municipality, token, purpose="personal_no") == "123456789018"
        with in_tenant(municipality):
            admin = User.objects.get(username="admin")
            assert admin.is_municipal_admin and admin.areas == ["juki", "kokuho", "kaigo"]
            assert AuditEvent.objects.filter(action="provision").exists()
        assert AuditEvent.objects.filter(action="provision", target_id=municipality.code).exists()  # public chain
        client = Client(HTTP_HOST=f"{municipality.slug}.{settings.BASE_DOMAIN}")
        assert client.post("/accounts/login/", {"username": "admin", "password": PASSWORD}).status_code == 302
        # the append-only protection was cloned too
        with in_tenant(municipality), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'audit_auditevent_no_%%'"
                           " AND tgrelid = 'audit_auditevent'::regclass")
            assert cursor.fetchone()[0] == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"code": "462013"}, "code"),  # wrong check digit
        ({"code": "46201"}, "code"),
        ({"code": "46201x"}, "code"),
        ({"slug": "Bad Slug"}, "slug"),
        ({"slug": "ops"}, "slug"),
        ({"areas": "juki,nothing"}, "areas"),
        ({"name": "  "}, "name"),
        ({"code": "462012"}, "code"),  # already used by the test city A
        ({"slug": "testb"}, "slug"),  # already used by the test city B
    ],
)
def test_bad_provisioning_input_names_the_field_and_creates_nothing(db, kwargs, field):
    params = {"code": "112186", "slug": "fukaya-demo", "name": "深谷デモ市", "areas": "juki",
              "admin_password": PASSWORD, **kwargs}
    before = Municipality.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        services.municipality_provision(**params)
    assert field in excinfo.value.message_dict
    assert Municipality.objects.count() == before
    assert not schema_exists("m_fukaya_demo")


def test_weak_admin_password_rolls_back_schema_and_row(db):
    with pytest.raises(ValidationError):
        services.municipality_provision(code="112186", slug="fukaya-demo", name="深谷デモ市", admin_password="weak")
    assert not Municipality.objects.filter(code="112186").exists()
    assert not schema_exists("m_fukaya_demo")


def test_suspended_municipality_answers_503_and_keeps_data(tenant_b):
    services.municipality_suspend(municipality=tenant_b, reason="契約更新手続中")
    response = Client(HTTP_HOST=f"{tenant_b.slug}.{settings.BASE_DOMAIN}").get("/accounts/login/")
    assert response.status_code == 503 and "ご利用いただけません" in response.content.decode()
    with pytest.raises(ValidationError):
        services.municipality_suspend(municipality=tenant_b, reason=" ")
    services.municipality_reactivate(municipality=tenant_b)
    assert Client(HTTP_HOST=f"{tenant_b.slug}.{settings.BASE_DOMAIN}").get("/accounts/login/").status_code == 200
    assert AuditEvent.objects.filter(action="suspend", target_id=tenant_b.code).exists()


def test_termination_destroys_the_data_key(tenant_b):
    token = crypto.encrypt(tenant_b, "秘密の値", purpose="test")
    services.municipality_terminate(municipality=tenant_b)
    tenant_b.refresh_from_db()
    assert tenant_b.wrapped_data_key is None and tenant_b.data_key_destroyed_at
    with pytest.raises(crypto.DataKeyUnavailable):
        crypto.decrypt(tenant_b, token, purpose="test")
    with pytest.raises(ValidationError):
        services.municipality_reactivate(municipality=tenant_b)


def test_create_municipality_command_reports_bad_code(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="検査数字"):
        call_command("create_municipality", code="112187", name="深谷デモ市", slug="fukaya-demo",
                     admin_password=PASSWORD)


@pytest.mark.schema
def test_create_municipality_command(django_db_blocker, capsys):
    with django_db_blocker.unblock():
        try:
            call_command("create_municipality", code="112186", name="深谷デモ市", slug="fukaya-cmd",
                         areas="juki,kokuho", admin_password=PASSWORD)
            assert "深谷デモ市（112186） を開設しました" in capsys.readouterr().out
            assert Municipality.objects.get(code="112186").areas == ["juki", "kokuho"]
        finally:
            connection.set_schema_to_public()
            for municipality in Municipality.objects.filter(code="112186"):
                drop_municipality(municipality)


def _operator_client(django_user_model):
    operator = django_user_model.objects.create_superuser("operator", "ops@example.jp", PASSWORD)
    client = Client(HTTP_HOST=settings.OPS_HOST)
    client.force_login(operator)
    return client


def test_ops_admin_form_rejects_wrong_check_digit(db, django_user_model):
    client = _operator_client(django_user_model)
    response = client.post("/admin/tenants/municipality/add/", {
        "code": "462019", "slug": "kagoshima-x", "name": "鹿児島デモ", "areas": ["juki"],
        "admin_username": "admin", "admin_password": PASSWORD,
    })
    assert response.status_code == 200
    assert "検査数字が正しくありません" in response.content.decode()
    assert not Municipality.objects.filter(slug="kagoshima-x").exists()


def test_ops_admin_search_and_filters(db, django_user_model):
    client = _operator_client(django_user_model)
    by_code = client.get("/admin/tenants/municipality/", {"q": "131041"}).content.decode()
    assert "テストB区" in by_code and "テストA市" not in by_code
    by_plan = client.get("/admin/tenants/municipality/", {"area": "kaigo"}).content.decode()
    assert "テストA市" in by_plan and "テストB区" not in by_plan
    by_status = client.get("/admin/tenants/municipality/", {"status__exact": "suspended"}).content.decode()
    assert "テストA市" not in by_status


def test_ops_admin_suspend_action(db, django_user_model):
    client = _operator_client(django_user_model)
    b = Municipality.objects.get(slug="testb")
    client.post("/admin/tenants/municipality/", {"action": "suspend_selected", "_selected_action": [b.pk]})
    b.refresh_from_db()
    assert b.status == "suspended"


@pytest.mark.schema
@pytest.mark.worker
def test_ops_admin_provisions_a_municipality_in_a_task_as_the_owner(django_db_blocker, celery_worker_process):
    """The request only enqueues (it neither waits for the DDL nor holds the owner's credentials); the worker
    provisions as the owner role, and the new schema carries the application role's grants."""
    from madoguchi.dbroles import app_role
    from tests.conftest import wait_until

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        operator = User.objects.create_superuser("operator-prov", "ops@example.jp", PASSWORD)
        client = Client(HTTP_HOST=settings.OPS_HOST)
        client.force_login(operator)
        try:
            started = time.monotonic()
            response = client.post("/admin/tenants/municipality/add/", {
                "code": "012084", "slug": "kitami-adm", "name": "北見デモ市", "areas": ["juki", "kokuho"],
                "admin_username": "admin", "admin_password": PASSWORD,
            }, SERVER_PORT="8000")
            assert response.status_code == 302, response.content.decode()[:2000]
            # The success message links to the municipality's real address, with the scheme and port in use.
            listed = client.get(response["Location"], SERVER_PORT="8000").content.decode()
            link = f'<a href="http://kitami-adm.{settings.BASE_DOMAIN}:8000/">'
            assert "開設を受け付けました" in listed and link in listed, listed[:3000]
            assert time.monotonic() - started < 5  # issue 17 item 13: it waited 60 s on its own lock
            municipality = wait_until(lambda: Municipality.objects.filter(slug="kitami-adm").first(), timeout=60)
            assert schema_exists(municipality.schema_name)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s",
                               [municipality.schema_name])
                assert cursor.fetchone()[0] != app_role()
                cursor.execute("SELECT has_table_privilege(%s, %s, 'INSERT'), has_table_privilege(%s, %s, 'UPDATE'),"
                               " has_table_privilege(%s, %s, 'UPDATE')",
                               [app_role(), f"{municipality.schema_name}.audit_auditevent"] * 2
                               + [app_role(), f"{municipality.schema_name}.accounts_user"])
                assert cursor.fetchone() == (True, False, True)
            with in_tenant(municipality):
                from tenants.accounts.models import User as Staff

                admin = Staff.objects.get(username="admin")
                assert admin.check_password(PASSWORD) and admin.is_municipal_admin
                assert AuditEvent.objects.filter(action="provision").exists()
            connection.set_schema_to_public()
            assert AuditEvent.objects.filter(action="provision", target_id="012084", actor="operator-prov").exists()
        finally:
            connection.set_schema_to_public()
            for municipality in Municipality.objects.filter(slug="kitami-adm"):
                drop_municipality(municipality)
            # Raw SQL: the ORM's cascade would follow foreign keys into tenant-only tables.
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM django_admin_log WHERE user_id = %s", [operator.pk])
                cursor.execute("DELETE FROM accounts_user WHERE id = %s", [operator.pk])


def test_ops_admin_edits_plan_through_the_service_and_status_is_read_only(db, django_user_model):
    client = _operator_client(django_user_model)
    b = Municipality.objects.get(slug="testb")
    response = client.post(f"/admin/tenants/municipality/{b.pk}/change/", {
        "name": "テストB区", "name_kana": "", "areas": ["juki", "kokuho", "inkan"], "contract_start": "",
        "contract_end": "", "status": "terminated",
    })
    assert response.status_code == 302
    b.refresh_from_db()
    assert b.areas == ["juki", "inkan", "kokuho"] and b.status == "active"  # status cannot be posted
    event = AuditEvent.objects.filter(action="update", target_type="municipality", target_id=b.code).last()
    assert event.details["before"]["areas"] == ["juki", "kokuho"]
    assert event.details["after"]["areas"] == ["juki", "inkan", "kokuho"]


def test_ops_admin_terminates_only_suspended_municipalities(db, django_user_model):
    client = _operator_client(django_user_model)
    b = Municipality.objects.get(slug="testb")
    client.post("/admin/tenants/municipality/", {"action": "terminate_selected", "_selected_action": [b.pk]})
    b.refresh_from_db()
    assert b.status == "active" and b.wrapped_data_key
    services.municipality_suspend(municipality=b, reason="契約終了")
    client.post("/admin/tenants/municipality/", {"action": "terminate_selected", "_selected_action": [b.pk]})
    b.refresh_from_db()
    assert b.status == "terminated" and b.wrapped_data_key is None


@pytest.mark.parametrize(("scheme", "port", "expected"), [
    ("http", "8000", "http://hokuto.{domain}:8000/"),
    ("https", "443", "https://hokuto.{domain}/"),
    ("http", "80", "http://hokuto.{domain}/"),
    ("https", "8443", "https://hokuto.{domain}:8443/"),
])
def test_the_new_municipalitys_link_keeps_the_scheme_and_port_of_the_ops_host(scheme, port, expected):
    from django.test import RequestFactory

    from tenants.admin import municipality_url

    request = RequestFactory().get("/admin/", HTTP_HOST=settings.OPS_HOST, SERVER_PORT=port,
                                   secure=scheme == "https")
    assert municipality_url(request=request, slug="hokuto") == expected.format(domain=settings.BASE_DOMAIN)

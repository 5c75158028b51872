"""Municipal admins manage staff: create, roles/areas, unlock, password reset — audited, admin-only."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from tenants.accounts import services
from tenants.accounts.models import User
from tests.conftest import CITY_A, in_tenant, staff_client


def test_admin_creates_staff_who_can_log_in(tenant_a):
    admin = staff_client(tenant_a, "admin")
    response = admin.post("/accounts/admin/staff/", {
        "username": "newcomer", "display_name": "新人 太郎", "role": "staff", "areas": ["juki", "kokuho"],
        "is_active": "on", "password": "Shinjin-pass-2026",
    })
    assert response.status_code == 302
    with in_tenant(tenant_a):
        user = User.objects.get(username="newcomer")
        assert user.areas == ["juki", "kokuho"] and user.role == "staff"
        assert AuditEvent.objects.filter(action="create", target_type="user", target_id=str(user.pk)).exists()
    from django.test import Client

    login = Client(HTTP_HOST=CITY_A.host).post("/accounts/login/", {"username": "newcomer",
                                                                    "password": "Shinjin-pass-2026"})
    assert login.status_code == 302


def test_create_staff_reports_weak_password_and_duplicate_id_on_fields(tenant_a):
    admin = staff_client(tenant_a, "admin")
    weak = admin.post("/accounts/admin/staff/", {"username": "weakling", "role": "staff", "password": "short"})
    body = weak.content.decode()
    assert weak.status_code == 200 and 'id="id_password-error"' in body and "12" in body
    duplicate = admin.post("/accounts/admin/staff/", {"username": "staff1", "role": "staff",
                                                       "password": "Shinjin-pass-2026"})
    assert 'id="id_username-error"' in duplicate.content.decode()
    with in_tenant(tenant_a):
        assert not User.objects.filter(username="weakling").exists()


def test_areas_outside_the_plan_are_not_offered(tenant_b):
    admin = staff_client(tenant_b, "admin")
    body = admin.get("/accounts/admin/staff/").content.decode()
    assert "国民健康保険" in body and "介護保険" not in body  # テストB区 has juki + kokuho only
    response = admin.post("/accounts/admin/staff/", {"username": "x1", "role": "staff", "areas": ["kaigo"],
                                                     "password": "Shinjin-pass-2026"})
    assert response.status_code == 200 and 'id="id_areas-error"' in response.content.decode()


def test_staff_cannot_manage_staff(tenant_a):
    staff = staff_client(tenant_a, "staff1")
    assert staff.get("/accounts/admin/staff/").status_code == 403
    with in_tenant(tenant_a):
        actor = User.objects.get(username="staff1")
        target = User.objects.get(username="staff2")
        with pytest.raises(PermissionDenied):
            services.staff_update(actor=actor, user=target, display_name="x", role="admin", department=None,
                                  areas=[], is_active=True)
        with pytest.raises(PermissionDenied):
            services.staff_set_password(actor=actor, user=target, password="Another-pass-2026")


def test_admin_unlocks_and_resets_password(tenant_a):
    from tenants.accounts.models import LoginThrottle

    with in_tenant(tenant_a):
        target = User.objects.get(username="staff2")
        LoginThrottle.objects.create(username="staff2", client_ip="192.0.2.44", failures=5,
                                     first_failure_at=timezone.now(),
                                     locked_until=timezone.now() + timezone.timedelta(minutes=10))
    admin = staff_client(tenant_a, "admin")
    assert "ロック中" in admin.get("/accounts/admin/staff/").content.decode()
    page = admin.get(f"/accounts/admin/staff/{target.pk}/").content.decode()
    assert "ロックを解除" in page and "192.0.2.44" in page
    admin.post(f"/accounts/admin/staff/{target.pk}/", {"action": "unlock"})
    with in_tenant(tenant_a):
        assert not LoginThrottle.objects.filter(username="staff2").exists()
    assert "ロック中" not in admin.get("/accounts/admin/staff/").content.decode()
    admin.post(f"/accounts/admin/staff/{target.pk}/", {"action": "password", "password": "Reset-pass-2026!"})
    with in_tenant(tenant_a):
        target.refresh_from_db()
        assert target.check_password("Reset-pass-2026!")


def test_admin_cannot_demote_or_disable_themselves(in_a):
    admin = User.objects.get(username="admin")
    with pytest.raises(ValidationError):
        services.staff_update(actor=admin, user=admin, display_name="", role="staff", department=None,
                              areas=[], is_active=True)


def test_role_change_is_audited_with_before_and_after(in_a):
    admin = User.objects.get(username="admin")
    target = User.objects.get(username="staff1")
    services.staff_update(actor=admin, user=target, display_name="窓口 一郎", role="supervisor",
                          department=target.department, areas=["juki"], is_active=True)
    event = AuditEvent.objects.filter(target_type="user", target_id=str(target.pk), action="update").last()
    assert event.details["before"]["role"] == "staff" and event.details["after"]["role"] == "supervisor"
    assert User.objects.get(pk=target.pk).is_supervisor


def test_staff_of_b_are_invisible_to_a_admin(tenant_a, tenant_b):
    with in_tenant(tenant_b):
        services.staff_create(actor=None, username="b-only-clerk", password="Shinjin-pass-2026")
    listing_a = staff_client(tenant_a, "admin").get("/accounts/admin/staff/").content.decode()
    listing_b = staff_client(tenant_b, "admin").get("/accounts/admin/staff/").content.decode()
    assert "b-only-clerk" in listing_b and "b-only-clerk" not in listing_a


def test_the_staff_edit_page_shows_the_members_values_and_saving_a_department_change_keeps_them(tenant_a):
    """The edit form was bound to the empty POST of a GET: every field empty and marked invalid, 「有効」
    unchecked — saving only a new department would have deactivated the member."""
    import re

    from tenants.accounts.models import Department

    client = staff_client(tenant_a, "admin")
    with in_tenant(tenant_a):
        member = User.objects.get(username="staff1")
        assert member.is_active
        other = Department.objects.exclude(pk=member.department_id).first()
    html = client.get(f"/accounts/admin/staff/{member.pk}/").content.decode()
    assert 'aria-invalid="true"' not in html
    assert re.search(r'<input type="checkbox" name="is_active"[^>]* checked', html), "有効 must show as checked"
    assert re.search(rf'<option value="{member.role}" selected>', html)
    # What the browser posts when only the department is changed: every other field as rendered.
    posted = {"action": "save", "display_name": member.display_name, "role": member.role,
              "department": other.pk, "areas": list(member.areas), "is_active": "on"}
    response = client.post(f"/accounts/admin/staff/{member.pk}/", posted)
    assert response.status_code == 302, response.content.decode()[:2000]
    with in_tenant(tenant_a):
        member.refresh_from_db()
        assert member.department_id == other.pk and member.is_active

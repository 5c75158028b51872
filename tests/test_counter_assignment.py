"""Each staff member works only at the counters of their department or those an admin assigned to them
(issue 11, finding 6): the choice, the session's counter and every case service enforce it; an admin
assigns on the counter screen; nothing of it crosses municipalities."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied

from tests.conftest import in_tenant, staff_client
from tests.test_search import make_resident


@pytest.fixture
def counters_a(in_a):
    from tenants.accounts.models import Counter, User

    return {
        "general": Counter.objects.get(name="総合窓口 1番"),  # 市民課
        "insurance": Counter.objects.get(name="保険年金窓口"),  # 保険年金課
        "staff1": User.objects.get(username="staff1"),  # 市民課
        "staff2": User.objects.get(username="staff2"),  # 保険年金課
        "admin": User.objects.get(username="admin"),
    }


def test_staff_see_and_pick_only_their_departments_counters(tenant_a, counters_a):
    client = staff_client(tenant_a, "staff2")
    page = client.get("/accounts/counter/").content.decode()
    assert "保険年金窓口" in page and "総合窓口 1番" not in page and "証明窓口" not in page
    refused = client.post("/accounts/counter/", {"counter": counters_a["general"].pk})
    assert refused.status_code == 400
    assert client.session.get("madoguchi_counter_id") is None
    chosen = client.post("/accounts/counter/", {"counter": counters_a["insurance"].pk})
    assert chosen.status_code == 302 and client.session["madoguchi_counter_id"] == counters_a["insurance"].pk


def test_the_selection_service_refuses_another_departments_counter(tenant_a, counters_a, rf):
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.exceptions import ValidationError

    from tenants.accounts.services import counter_select

    request = rf.post("/accounts/counter/")
    request.user, request.session = counters_a["staff2"], SessionStore()
    with pytest.raises(ValidationError):
        counter_select(request=request, counter_id=counters_a["general"].pk)
    assert counter_select(request=request, counter_id=counters_a["insurance"].pk) == counters_a["insurance"]


def test_a_counter_put_into_the_session_by_hand_is_not_used(tenant_a, counters_a):
    """A session holding another department's counter (set before an admin took it away, or forged)
    gives no counter: the queue is empty and no case can be opened from there."""
    with in_tenant(tenant_a):
        resident = make_resident(name="窓口 次郎", kana="マドグチ ジロウ", birth=date(1990, 1, 1), household_no="HHX1")
    client = staff_client(tenant_a, "staff2", counter=counters_a["general"])
    assert "総合窓口 1番" not in client.get("/").content.decode()
    client.post("/navi/cases/new/", {"atena_no": resident.atena_no})
    with in_tenant(tenant_a):
        from navigation.cases.models import Case

        assert not Case.objects.exists()


def test_case_services_refuse_a_counter_that_is_not_the_actors(tenant_a, counters_a):
    from navigation.cases.selectors import case_queue
    from navigation.cases.services import case_handoff, case_open

    with in_tenant(tenant_a):
        resident = make_resident(name="窓口 三郎", kana="マドグチ サブロウ", birth=date(1985, 2, 2),
                                 household_no="HHX2")
        case = case_open(actor=counters_a["staff1"], counter=counters_a["general"], atena_nos=[resident.atena_no])
        with pytest.raises(PermissionDenied):
            case_open(actor=counters_a["staff2"], counter=counters_a["general"], atena_nos=[resident.atena_no])
        with pytest.raises(PermissionDenied):  # handing off from a counter of another department
            case_handoff(actor=counters_a["staff2"], counter=counters_a["general"], case=case,
                         to_counter=counters_a["insurance"])
        assert case_queue(actor=counters_a["staff2"], counter=counters_a["general"]) == []
        # Handing off TO another department's counter is the point of a hand-off, and allowed.
        case_handoff(actor=counters_a["staff1"], counter=counters_a["general"], case=case,
                     to_counter=counters_a["insurance"])
        assert [row.case.pk for row in case_queue(actor=counters_a["staff2"], counter=counters_a["insurance"])] \
            == [case.pk]


def test_admin_assigns_a_counter_to_a_member_of_another_department(tenant_a, counters_a):
    from audit.models import AuditEvent

    admin = staff_client(tenant_a, "admin")
    general = counters_a["general"]
    form = admin.get(f"/accounts/admin/counters/{general.pk}/").content.decode()
    assert "担当職員（部署以外）" in form
    saved = admin.post(f"/accounts/admin/counters/{general.pk}/", {
        "name": general.name, "kind": general.kind, "department": general.department_id,
        "location": general.location, "sort_order": general.sort_order, "is_active": "on",
        "staff": [counters_a["staff2"].pk]})
    assert saved.status_code == 302
    with in_tenant(tenant_a):
        assert list(general.staff.all()) == [counters_a["staff2"]]
        assert AuditEvent.objects.filter(action="update", target_type="counter", target_id=str(general.pk),
                                         details__staff=["staff2"]).exists()
    staff2 = staff_client(tenant_a, "staff2")
    assert staff2.post("/accounts/counter/", {"counter": general.pk}).status_code == 302
    assert "総合窓口 1番" in staff2.get("/").content.decode()
    # Taken away again: the session's counter is dropped on the next request.
    admin.post(f"/accounts/admin/counters/{general.pk}/", {
        "name": general.name, "kind": general.kind, "department": general.department_id,
        "location": general.location, "sort_order": general.sort_order, "is_active": "on"})
    assert "総合窓口 1番" not in staff2.get("/").content.decode()


def test_only_municipal_admins_assign_counters(tenant_a, counters_a):
    from tenants.accounts.services import counter_save

    general = counters_a["general"]
    staff = staff_client(tenant_a, "staff1")
    assert staff.post(f"/accounts/admin/counters/{general.pk}/", {
        "name": general.name, "kind": general.kind, "sort_order": 0, "is_active": "on",
        "staff": [counters_a["staff2"].pk]}).status_code == 403
    with in_tenant(tenant_a):
        with pytest.raises(PermissionDenied):
            counter_save(actor=counters_a["staff1"], counter=general, name=general.name, kind=general.kind,
                         staff=[counters_a["staff2"]])
        assert not general.staff.exists()


def test_assignment_in_a_does_not_reach_the_same_counter_id_in_b(tenant_a, tenant_b):
    """Both municipalities have a 市民課 counter under the same id and a staff2 (保険年金課) under the same
    user id; A's assignment opens A's counter to A's staff2 only. (The ids are set explicitly: provisioning
    creates as many default counters as the plan's areas need, so the seeded counters' ids differ per city.)"""
    from tenants.accounts.models import Counter, Department, User

    with in_tenant(tenant_a):
        shimin = Department.objects.get(name="市民課")
        counter_a = Counter.objects.create(pk=9001, name="総合窓口 9番", department=shimin)
        staff2_a = User.objects.get(username="staff2")
    with in_tenant(tenant_b):
        shimin = Department.objects.get(name="市民課")
        counter_b = Counter.objects.create(pk=9001, name="総合窓口 9番", department=shimin)
        staff2_b = User.objects.get(username="staff2")
    assert counter_a.pk == counter_b.pk and staff2_a.pk == staff2_b.pk  # the same ids in both schemas
    admin_a = staff_client(tenant_a, "admin")
    assert admin_a.post(f"/accounts/admin/counters/{counter_a.pk}/", {
        "name": counter_a.name, "kind": counter_a.kind, "department": counter_a.department_id,
        "location": counter_a.location, "sort_order": 0, "is_active": "on",
        "staff": [staff2_a.pk]}).status_code == 302
    with in_tenant(tenant_b):
        assert not Counter.objects.get(pk=counter_b.pk).staff.exists()
    in_b = staff_client(tenant_b, "staff2")
    assert in_b.post("/accounts/counter/", {"counter": counter_b.pk}).status_code == 400
    assert "総合窓口 9番" not in in_b.get("/accounts/counter/").content.decode()
    in_a = staff_client(tenant_a, "staff2")
    assert in_a.post("/accounts/counter/", {"counter": counter_a.pk}).status_code == 302

"""The audit screen (R6.3, issue 17 item 12): admins search by staff member, resident, action and period."""

from datetime import timedelta

import pytest
from django.db.models import Max
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record
from tests.conftest import PASSWORD, axe_violations, browser_login, in_tenant, staff_client

URL = "/audit/"


def _event(tenant, **kwargs):
    with in_tenant(tenant):
        return record(**kwargs)


def _rows(response) -> str:
    return response.content.decode()


def test_only_municipal_admins_open_the_audit_screen(tenant_a):
    for username in ("staff1", "leader"):
        assert staff_client(tenant_a, username).get(URL).status_code == 403
    assert staff_client(tenant_a, "admin").get(URL).status_code == 200


def test_selector_refuses_non_admins_whatever_the_view_does(tenant_a):
    from django.core.exceptions import PermissionDenied

    from audit.selectors import AuditQuery, events_search
    from tenants.accounts.models import User

    with in_tenant(tenant_a):
        with pytest.raises(PermissionDenied):
            events_search(actor=User.objects.get(username="staff1"), query=AuditQuery())


def test_search_by_resident_finds_every_event_that_named_them(tenant_a):
    _event(tenant_a, action="view", target_type="household", target_id="H-1", residents=["900000001", "900000002"])
    _event(tenant_a, action="export", target_type="export_batch", target_id="7", residents=["900000002"])
    _event(tenant_a, action="view", target_type="person", target_id="900000003", residents=["900000003"])
    response = staff_client(tenant_a, "admin").get(URL, {"atena_no": "９０００００００２"})  # full-width digits
    html = _rows(response)
    assert response.status_code == 200
    assert "2 件" in html
    assert "出力ファイル" in html and "世帯" in html  # target kinds in Japanese, not codes
    assert "900000003" not in html


def test_search_by_staff_action_and_period(tenant_a):
    from tenants.accounts.models import User

    with in_tenant(tenant_a):
        leader = User.objects.get(username="leader")
    _event(tenant_a, action="export", target_type="export_batch", target_id="11", actor=leader)
    _event(tenant_a, action="view", target_type="person", target_id="1", actor=leader)
    admin = staff_client(tenant_a, "admin")
    html = _rows(admin.get(URL, {"actor": "leader", "action": "export"}))
    assert "出力ファイル 11" in html and "住民 1" not in html
    today = timezone.localdate()
    html = _rows(admin.get(URL, {"actor": "leader", "date_from": (today + timedelta(days=1)).isoformat()}))
    assert "条件に合う記録はありません" in html
    html = _rows(admin.get(URL, {"actor": "leader", "date_from": today.isoformat(), "date_to": today.isoformat()}))
    assert "2 件" in html


def test_each_search_is_itself_audited_with_the_residents_it_showed(tenant_a):
    _event(tenant_a, action="view", target_type="person", target_id="900000010", residents=["900000010"])
    staff_client(tenant_a, "admin").get(URL, {"atena_no": "900000010"})
    with in_tenant(tenant_a):
        event = AuditEvent.objects.filter(target_type="audit_log").order_by("-seq").first()
    assert event is not None and event.actor == "admin" and event.action == "view"
    assert event.details["criteria"] == {"atena_no": "900000010"}
    assert event.residents == ["900000010"]


def test_bad_input_is_refused_by_field_without_a_server_error(tenant_a):
    admin = staff_client(tenant_a, "admin")
    response = admin.get(URL, {"date_from": "2026-12-10", "date_to": "2026-12-01"})
    assert response.status_code == 200
    assert "期間の終わりは始まり（2026-12-10）以降の日付にしてください。" in _rows(response)
    response = admin.get(URL, {"date_from": "9999-12-31", "date_to": "9999-12-31"})
    assert response.status_code == 200 and "field--error" in _rows(response)  # out of range, named
    response = admin.get(URL, {"atena_no": "12ab"})
    assert "宛名番号は数字で入力してください。" in _rows(response)
    response = admin.get(URL, {"action": "drop_table"})
    assert response.status_code == 200 and "field--error" in _rows(response)
    response = admin.get(URL, {"date_from": "2026-02-30"})
    assert response.status_code == 200 and "field--error" in _rows(response)


def test_b_cannot_see_a_events_under_the_same_seq(tenant_a, tenant_b):
    """Both municipalities hold events with the same 連番 and the same 宛名番号; each admin sees only its own."""
    marker = "900000077"
    heads = []
    for tenant in (tenant_a, tenant_b):
        with in_tenant(tenant):
            heads.append(AuditEvent.objects.aggregate(m=Max("seq"))["m"] or 0)
    for tenant, head in zip((tenant_a, tenant_b), heads, strict=True):
        for _ in range(max(heads) - head):
            _event(tenant, action="view", target_type="filler")
    a_event = _event(tenant_a, action="view", target_type="person", target_id=marker, residents=[marker],
                     details={"city": "A"})
    b_event = _event(tenant_b, action="view", target_type="person", target_id=marker, residents=[marker],
                     details={"city": "B"})
    assert b_event.seq == a_event.seq  # the same id in both schemas
    html_b = _rows(staff_client(tenant_b, "admin").get(URL, {"atena_no": marker}))
    assert "&#x27;city&#x27;: &#x27;B&#x27;" in html_b and "&#x27;city&#x27;: &#x27;A&#x27;" not in html_b
    html_a = _rows(staff_client(tenant_a, "admin").get(URL, {"atena_no": marker}))
    assert "&#x27;city&#x27;: &#x27;A&#x27;" in html_a and "&#x27;city&#x27;: &#x27;B&#x27;" not in html_a


@pytest.mark.browser
@pytest.mark.schema
def test_admin_finds_who_saw_a_resident_in_the_browser(live_server_mt, page, fresh_municipality, django_db_blocker):
    city = fresh_municipality(areas="juki")
    with django_db_blocker.unblock(), in_tenant(city):
        from tenants.accounts.models import User

        clerk = User.objects.create_user(username="madoguchi7", password=PASSWORD, role="staff")
        record(action="view", target_type="household", target_id="H-9", actor=clerk,
               residents=["900000123", "900000124"])
        record(action="view", target_type="person", target_id="900000999", actor=clerk, residents=["900000999"])
    browser_login(page, live_server_mt, city.slug, "admin")
    page.wait_for_url(live_server_mt.url(city.slug, "/"))
    page.get_by_role("link", name="監査ログ").click()
    page.wait_for_url("**/audit/")
    assert page.get_by_role("heading", name="監査ログ", exact=True).is_visible()
    assert axe_violations(page) == []
    page.get_by_label("住民（宛名番号）").fill("900000124")
    page.get_by_role("button", name="検索").click()
    assert page.locator("#result-count").inner_text() == "1 件"
    row = page.locator("table.audit-table tbody tr").first
    assert "madoguchi7" in row.inner_text() and "世帯" in row.inner_text() and "900000124" in row.inner_text()
    assert "900000999" not in page.locator("table.audit-table").inner_text()
    assert axe_violations(page) == []

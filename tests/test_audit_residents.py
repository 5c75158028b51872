"""The audit trail names whose data was seen or taken (issue 11, finding 3; R6.3).

"Who saw or took resident X's data, when" is one query: ``audit.selectors.events_for_resident``.
"""

from __future__ import annotations

from datetime import date

from audit.models import AuditEvent
from audit.selectors import events_for_resident
from audit.services import canonical_bytes, chain_verify, event_hash, record
from tests.conftest import in_tenant, staff_client
from tests.test_search import make_resident


def _family():
    head = make_resident(name="監査 一郎", kana="カンサ イチロウ", birth=date(1980, 1, 1), relationship="世帯主")
    wife = make_resident(name="監査 花子", kana="カンサ ハナコ", birth=date(1982, 2, 2), relationship="妻",
                         household_no=head.household_no)
    child = make_resident(name="監査 次郎", kana="カンサ ジロウ", birth=date(2012, 3, 3), relationship="子",
                          household_no=head.household_no)
    return head, wife, child


def test_person_page_names_every_household_member_it_shows(tenant_a):
    with in_tenant(tenant_a):
        head, wife, child = _family()
        stranger = make_resident(name="他人 三郎")
    page = staff_client(tenant_a, "staff1").get(f"/navi/cases/persons/{head.atena_no}/")
    assert page.status_code == 200 and "監査 次郎" in page.content.decode()  # the page shows the household
    with in_tenant(tenant_a):
        event = AuditEvent.objects.filter(target_type="person", target_id=head.atena_no).last()
        assert set(event.residents) == {head.atena_no, wife.atena_no, child.atena_no}
        for member in (wife, child):  # one query per resident finds who saw them, and when
            (seen,) = events_for_resident(atena_no=member.atena_no).filter(target_type="person")
            assert seen.pk == event.pk and seen.actor == "staff1" and seen.occurred_at
        assert not events_for_resident(atena_no=stranger.atena_no).exists()


def test_case_screen_names_the_case_persons_and_the_household_shown(tenant_a):
    from navigation.cases.services import case_open
    from tenants.accounts.models import Counter, User

    with in_tenant(tenant_a):
        head, wife, child = _family()
        case = case_open(actor=User.objects.get(username="staff1"), counter=Counter.objects.get(name="総合窓口 1番"),
                         atena_nos=[head.atena_no])
        opened = AuditEvent.objects.get(target_type="case", target_id=str(case.pk), action="create")
        assert opened.residents == [head.atena_no]
    response = staff_client(tenant_a, "staff1").get(f"/navi/cases/{case.pk}/")
    assert response.status_code == 200
    with in_tenant(tenant_a):
        viewed = AuditEvent.objects.filter(target_type="case", target_id=str(case.pk), action="view").last()
        assert set(viewed.residents) == {head.atena_no, wife.atena_no, child.atena_no}


def test_search_names_every_resident_in_the_results(in_a):
    from integration.search import person_search
    from tenants.accounts.models import User

    head, wife, child = _family()
    results = person_search(actor=User.objects.get(username="staff1"), query="カンサ")
    assert {r.atena_no for r in results} == {head.atena_no, wife.atena_no, child.atena_no}
    event = AuditEvent.objects.filter(target_type="person_search").last()
    assert set(event.residents) == {head.atena_no, wife.atena_no, child.atena_no}


def test_a_long_list_continues_on_bounded_rows_in_the_chain(in_a, monkeypatch):
    """An export of a million residents must not make one row enormous: the names continue on follow-up
    events of at most RESIDENTS_PER_EVENT each, all in the hash chain."""
    import audit.services

    monkeypatch.setattr(audit.services, "RESIDENTS_PER_EVENT", 3)
    names = [f"90000000{i}" for i in range(7)]
    first = record(action="export", target_type="export_batch", target_id="1", details={"count": 7},
                   residents=[*names, names[0]])  # duplicates are named once
    rows = list(AuditEvent.objects.filter(seq__gte=first.seq).order_by("seq"))
    assert [r.residents for r in rows] == [names[0:3], names[3:6], names[6:7]]
    assert rows[0].details == {"count": 7}
    assert [r.details for r in rows[1:]] == [{"continues": first.seq, "part": 2, "parts": 3},
                                             {"continues": first.seq, "part": 3, "parts": 3}]
    assert all(r.action == "export" and r.target_id == "1" for r in rows)
    (found,) = events_for_resident(atena_no=names[6])
    assert found.details["continues"] == first.seq
    assert chain_verify().ok


def test_residents_are_part_of_the_hashed_bytes(in_a):
    from django.db import connection

    from audit.keys import chain_key

    event = record(action="view", target_type="person", target_id="1", residents=["900000001"])
    key = chain_key(schema_name=connection.schema_name)
    assert event_hash(event, key) == event.hash
    event.residents = ["900000002"]  # someone rewrites whose data it was
    assert event_hash(event, key) != event.hash
    plain = record(action="view", target_type="person", target_id="2")  # names nobody: hashed as before
    fields = {f: getattr(plain, f) for f in ("seq", "occurred_at", "actor_id", "actor", "action", "target_type",
                                             "target_id", "area", "request_id", "client_ip", "counter_id",
                                             "details", "prev_hash")}
    assert b"residents" not in canonical_bytes(**fields)
    assert event_hash(plain, key) == plain.hash

"""The queue (issue 17 item 5): each row names the visitor, except where a person of the case is under a
support measure (the 受付番号 alone), with the event, the minutes since arrival and the last note; showing a
name is audited once a day per staff member, not at every 5-second poll."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.conftest import staff_client
from tests.test_cases import catalogue, family, people  # noqa: F401
from tests.test_search import make_resident, make_support_measure


def _queue(client) -> str:  # noqa: ANN001
    return client.get("/navi/cases/queue/", HTTP_HX_REQUEST="true").content.decode()


def test_rows_name_the_visitor_event_waiting_time_and_last_note(people, family, tenant_a, catalogue):  # noqa: F811
    from navigation.cases.models import Case
    from navigation.cases.services import case_open, memo_create

    head = family[0]
    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[head.atena_no, family[1].atena_no])
    Case.objects.filter(pk=case.pk).update(events=["tenshutsu"], queued_at=timezone.now() - timedelta(minutes=17))
    memo_create(actor=people["staff1"], counter=people["A"], case=case, body="年金の相談もあり", visibility="all")
    html = _queue(staff_client(tenant_a, "staff1", counter=people["A"]))
    row = html[html.index(f'data-case="{case.label}"'):]
    row = row[:row.index("</tr>")]
    assert "窓口 太郎" in row and "ほか1名" in row
    assert "転出" in row and "17分" in row and "年金の相談もあり" in row


def test_a_protected_person_shows_the_case_number_alone(people, tenant_a, catalogue):  # noqa: F811
    from navigation.cases.services import case_open

    protected = make_resident(name="保護 花子", kana="ホゴ ハナコ", address="テスト市極秘町3-3")
    make_support_measure(protected.atena_no)
    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[protected.atena_no])
    html = _queue(staff_client(tenant_a, "staff1", counter=people["A"]))
    assert case.label in html and "保護 花子" not in html and "ホゴ" not in html


def test_a_name_shown_is_audited_once_not_at_every_poll(people, family, tenant_a, catalogue):  # noqa: F811
    from django.core.cache import cache

    from audit.models import AuditEvent
    from navigation.cases.services import case_open

    head = family[0]
    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[head.atena_no])
    cache.delete_many([f"queue-shown:{people['staff1'].pk}:{case.pk}:{timezone.localdate().isoformat()}"])
    client = staff_client(tenant_a, "staff1", counter=people["A"])
    for _ in range(3):
        _queue(client)
    events = AuditEvent.objects.filter(target_type="case_queue", actor="staff1")
    assert events.count() == 1 and events.get().residents == [head.atena_no]
    assert events.get().details["cases"] == [case.label]

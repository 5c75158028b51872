"""The case page at speed (issue 17): a procedure that is one act for the household shows once with its
persons and one status applies to each person's row; one primary button, the next step; the hand-off and the
counter page preselect what is obvious; the counter's bulk completion takes what was sent to it."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from tests.conftest import in_tenant, staff_client

FAMILY = [
    {"name": "転入 太郎", "birth_date": date(1990, 4, 1), "relationship": "世帯主"},
    {"name": "転入 花子", "birth_date": date(1992, 6, 15), "relationship": "妻"},
    {"name": "転入 一郎", "birth_date": date(2019, 9, 9), "relationship": "子"},
]


@pytest.fixture
def people(in_a):
    from navigation.services import catalogue_install_default
    from tenants.accounts.models import Counter, User

    catalogue_install_default()
    return {
        "staff1": User.objects.get(username="staff1"),  # 市民課
        "staff2": User.objects.get(username="staff2"),  # 保険年金課
        "A": Counter.objects.get(name="総合窓口 1番"),
        "B": Counter.objects.get(name="保険年金窓口"),
    }


@pytest.fixture
def moving_in(people):
    """Three newcomers moving in together, 転入 determined."""
    from navigation.cases.services import case_open

    return case_open(actor=people["staff1"], counter=people["A"], newcomers=[dict(p) for p in FAMILY],
                     events=["tennyu"], event_date=date(2026, 6, 1))


def _primary_buttons(html: str) -> list[str]:
    return re.findall(r'class="button button--primary[^"]*"[^>]*>([^<]*)<', html)


def test_household_act_shows_once_with_its_persons(people, moving_in, tenant_a):
    rows = moving_in.procedures.filter(procedure_code="juki_tennyu")
    assert rows.count() == 3  # the determination stays per person
    html = staff_client(tenant_a, "staff1", counter=people["A"]).get(f"/navi/cases/{moving_in.pk}/").content.decode()
    assert html.count('data-code="juki_tennyu"') == 1
    act = html[html.index('id="household-acts"'):html.index('data-code="juki_tennyu"') + 3000]
    assert "3 人分を1回で" in act and all(p["name"] in act for p in FAMILY)
    assert all(f'name="group" value="{row.pk}"' in act for row in rows)
    # Per person (not one act): 子ども医療費 / 学齢簿 of the child only; 印鑑登録 etc. are never grouped.
    assert html.count('data-code="kodomo_iryou"') == 1
    # Each person still names the act they are part of, and their 「すべて完了」 counts its row too.
    father = html[html.index("転入 太郎 <span"):html.index("転入 花子 <span")]
    assert "世帯でまとめて行う手続：転入届（未対応）" in father
    own = moving_in.procedures.filter(person__name="転入 太郎", determined=True, status__in=["todo", "doing"])
    assert f"転入 太郎 さんの手続 {own.count()} 件をすべて完了" in father


def test_one_status_applies_to_every_persons_row_and_each_is_audited(people, moving_in, tenant_a):
    from audit.models import AuditEvent

    rows = list(moving_in.procedures.filter(procedure_code="juki_tennyu").order_by("pk"))
    client = staff_client(tenant_a, "staff1", counter=people["A"])
    before = AuditEvent.objects.filter(target_type="case_procedure").count()
    html = client.post(f"/navi/cases/{moving_in.pk}/procedures/{rows[0].pk}/",
                       {"status": "done", "reason": "", "group": [r.pk for r in rows]},
                       HTTP_HX_REQUEST="true").content.decode()
    assert "「転入届」（3 人分）を「完了」にしました。" in html
    assert html.count("<tr") == 1 and "3 人分を1回で" in html  # the row answers as the act again
    assert {r.status for r in moving_in.procedures.filter(procedure_code="juki_tennyu")} == {"done"}
    assert AuditEvent.objects.filter(target_type="case_procedure").count() == before + 3


def test_a_refused_household_status_changes_none_of_the_rows(people, moving_in, tenant_a):
    from navigation.cases.services import case_household_act_set_status

    rows = list(moving_in.procedures.filter(procedure_code="juki_tennyu").order_by("pk"))
    client = staff_client(tenant_a, "staff1", counter=people["A"])
    # 不要 without a reason: refused beside the row, nothing changed for anybody.
    html = client.post(f"/navi/cases/{moving_in.pk}/procedures/{rows[0].pk}/",
                       {"status": "not_needed", "reason": "", "group": [r.pk for r in rows]},
                       HTTP_HX_REQUEST="true").content.decode()
    assert "「不要」にするときは理由を入力してください。" in html and 'role="alert"' in html
    assert {r.status for r in moving_in.procedures.filter(procedure_code="juki_tennyu")} == {"todo"}
    # A group that is not one act (another code mixed in, a row of another case): refused, nothing changed.
    seal = moving_in.procedures.exclude(procedure_code="juki_tennyu").filter(person__isnull=False).first()
    with pytest.raises(ValidationError):
        case_household_act_set_status(actor=people["staff1"], counter=people["A"], case=moving_in,
                                      procedure_ids=[rows[0].pk, seal.pk], status="done")
    with pytest.raises(ValidationError):
        case_household_act_set_status(actor=people["staff1"], counter=people["A"], case=moving_in,
                                      procedure_ids=[rows[0].pk, 10**9], status="done")
    assert {r.status for r in moving_in.procedures.filter(procedure_code="juki_tennyu")} == {"todo"}
    assert seal.status == "todo"


def test_another_municipality_cannot_change_the_act(people, moving_in, tenant_a, tenant_b):
    from tenants.accounts.models import Counter

    rows = list(moving_in.procedures.filter(procedure_code="juki_tennyu").order_by("pk"))
    with in_tenant(tenant_b):
        counter_b = Counter.objects.order_by("pk").first()
    client_b = staff_client(tenant_b, "staff1", counter=counter_b)
    response = client_b.post(f"/navi/cases/{moving_in.pk}/procedures/{rows[0].pk}/",
                             {"status": "done", "group": [r.pk for r in rows]}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    with in_tenant(tenant_a):
        assert {r.status for r in moving_in.procedures.filter(procedure_code="juki_tennyu")} == {"todo"}


def test_one_primary_button_the_next_step(people, tenant_a):
    from navigation.cases.services import case_answers_update, case_open

    client = staff_client(tenant_a, "staff1", counter=people["A"])
    case = case_open(actor=people["staff1"], counter=people["A"], newcomers=[dict(p) for p in FAMILY])

    def page() -> str:
        return client.get(f"/navi/cases/{case.pk}/").content.decode()

    html = page()
    assert _primary_buttons(html) == ["イベントを保存して判定"]
    assert 'id="next-step"' in html and 'class="cases-newcomer" open' in html  # a family of newcomers
    client.post(f"/navi/cases/{case.pk}/events/", {"events": ["tennyu"], "event_date": "2026-06-01"})
    assert _primary_buttons(page()) == ["回答を保存して判定"]
    case.refresh_from_db()
    case_answers_update(actor=people["staff1"], counter=people["A"], case=case, answers={
        "case:any_employee_insurance": "no", "case:inkan_wish_any": "no", "case:card_holding_any": "no",
        "case:parent_public_servant": "no"})
    html = page()
    assert len(_primary_buttons(html)) == 1 and "すべて完了" in _primary_buttons(html)[0]
    # This counter's work done: what is left is at 保険年金窓口 → 引き継ぐ, with that counter chosen.
    case.procedures.exclude(counter=people["B"]).update(status="done")
    html = page()
    assert _primary_buttons(html) == ["引き継ぐ"]
    chosen = re.search(r'<option value="(\d+)" selected>', html[html.index('id="handoff"'):])
    assert chosen and int(chosen.group(1)) == people["B"].pk
    case.procedures.update(status="done")
    assert _primary_buttons(page()) == ["受付を完了する"]


def test_counter_bulk_completion_takes_what_was_sent_here(people, moving_in):
    from navigation.cases.services import case_answers_update, case_handoff, case_procedures_complete, case_resume

    case_answers_update(actor=people["staff1"], counter=people["A"], case=moving_in,
                        answers={"case:any_employee_insurance": "no"})
    kokuho = list(moving_in.procedures.filter(procedure_code="kokuho_kanyu"))
    assert kokuho and all(p.counter_id == people["B"].pk for p in kokuho)
    moving_in.procedures.filter(pk__in=[p.pk for p in kokuho]).update(status="elsewhere")
    case_handoff(actor=people["staff1"], counter=people["A"], case=moving_in, to_counter=people["B"])
    case_resume(actor=people["staff2"], counter=people["B"], case=moving_in)
    done = case_procedures_complete(actor=people["staff2"], counter=people["B"], case=moving_in,
                                    only_this_counter=True)
    assert {p.pk for p in kokuho} <= {p.pk for p in done}
    assert all(p.counter_id == people["B"].pk for p in done)
    # A's 未対応 ones stay for A.
    assert moving_in.procedures.filter(counter=people["A"], status="todo").exists()


def test_counter_page_preselects_the_departments_only_counter(people, tenant_a):
    def checked(username: str) -> list[str]:
        html = staff_client(tenant_a, username).get("/accounts/counter/").content.decode()
        return re.findall(r'<input type="radio" name="counter" value="(\d+)"[^>]*checked', html)

    assert checked("staff2") == [str(people["B"].pk)]  # 保険年金課 has one counter
    assert checked("staff1") == []  # 市民課 has three: nothing is guessed


def test_expiry_during_a_boosted_post_sends_the_browser_to_login(people, moving_in, tenant_a, settings):
    from tenants.accounts.sessions import DEADLINE_KEY, PENDING_KEY

    client = staff_client(tenant_a, "staff1", counter=people["A"])
    session = client.session
    session[DEADLINE_KEY] = 0
    session.save()
    page = f"http://{tenant_a.slug}.{settings.BASE_DOMAIN}/navi/cases/{moving_in.pk}/"
    response = client.post(f"/navi/cases/{moving_in.pk}/memos/", {"body": "書きかけのメモ", "visibility": "all"},
                           HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true", HTTP_HX_CURRENT_URL=page)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")
    assert client.session[PENDING_KEY]["fields"] == [["body", "書きかけのメモ"], ["visibility", "all"]]

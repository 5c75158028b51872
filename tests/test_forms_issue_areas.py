"""Who may issue which application form (issue 12 review): a counter works within its staff's business areas.

A staff member issues, previews, prints, downloads, pushes to the tablet or reprints only forms whose procedures all
belong to business areas they hold (``User.areas``; a municipal admin: every area). The 手続き案内票 is area-free; a
certificate's 交付請求書 belongs to the area of its certificate (``FormTemplate.area``). A form asked for by name is
refused (PermissionDenied / HTTP 403 naming the form and the missing area, audited ``refused``); the bundle holds
the forms the staff member may issue and the page names those left out and why.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied

from tests.conftest import in_tenant, staff_client
from tests.test_forms_family import STAFF_INPUTS, open_family_case, setup  # noqa: F401 - fixture
from tests.test_forms_tablet_rules import world  # noqa: F401 - fixture


def _member(username: str, *, areas: list[str], role: str = "staff"):  # noqa: ANN202
    from tenants.accounts.models import User

    department = User.objects.get(username="staff1").department
    return User.objects.create_user(username=username, password="Madoguchi-demo-2026", role=role, areas=areas,
                                    department=department)


@pytest.fixture
def family(setup):  # noqa: ANN001,ANN201,F811
    """The family of five moving in with 国保 and 児童手当, every staff input typed (by staff1: every area)."""
    from forms_builder import services

    case = open_family_case(setup)
    inputs = dict(STAFF_INPUTS)
    from forms_builder import selectors

    for item, person in selectors.needed_inputs(case=case):
        if item.key == "previous_school":
            inputs[("previous_school", person.key)] = "千代田区立麹町小学校"
    services.case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case, values=inputs)
    return {**setup, "case": case, "kokuho": _member("kokuho1", areas=["kokuho"])}


def _refusals(case_id: int) -> list:
    from audit.models import AuditEvent

    return list(AuditEvent.objects.filter(action="refused", target_type="case", target_id=str(case_id)))


def test_a_kokuho_only_staff_member_cannot_issue_the_child_allowance_claim_but_can_issue_the_kokuho_form(family):
    from forms_builder import services
    from forms_builder.models import IssuedDocument

    case, kokuho = family["case"], family["kokuho"]
    with pytest.raises(PermissionDenied) as caught:
        services.document_issue(actor=kokuho, counter=family["counter"], case=case, channel="print",
                                codes=["jt_nintei"])
    message = str(caught.value)
    assert "児童手当 認定請求書" in message and "「児童手当」の担当業務がありません" in message
    assert not IssuedDocument.objects.filter(case=case).exists()  # nothing rendered, stored or handed out
    (event,) = _refusals(case.pk)
    assert event.details["operation"] == "issue" and event.details["channel"] == "print"
    assert event.details["forms"] == [{"template": "jt_nintei", "person_key": "", "areas": ["jidou_teate"],
                                       "missing": ["jidou_teate"]}]
    assert event.residents == []  # nothing of anybody was handed out
    # Asking for an allowed and a refused form together is refused as a whole (no partial document).
    with pytest.raises(PermissionDenied):
        services.document_issue(actor=kokuho, counter=family["counter"], case=case, channel="print",
                                codes=["kokuho_shutoku", "jt_nintei"])
    assert not IssuedDocument.objects.filter(case=case).exists()

    issued = services.document_issue(actor=kokuho, counter=family["counter"], case=case, channel="print",
                                     codes=["kokuho_shutoku"])
    assert [(i["template"], i["areas"]) for i in issued.document.items] == [("kokuho_shutoku", ["kokuho"])]
    assert issued.left_out == []


def test_issuing_a_form_of_another_area_over_http_is_403_naming_the_form_and_the_area(family, tenant_a):
    from forms_builder.models import IssuedDocument

    case = family["case"]
    client = staff_client(tenant_a, "kokuho1", counter=family["counter"])
    response = client.post(f"/forms/cases/{case.pk}/issue/", {"channel": "download", "doc": "jt_nintei"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "児童手当 認定請求書" in page and "「児童手当」の担当業務がありません" in page
    assert not IssuedDocument.objects.filter(case=case).exists() and len(_refusals(case.pk)) == 1
    response = client.post(f"/forms/cases/{case.pk}/issue/", {"channel": "download", "doc": "kokuho_shutoku"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    # The preview follows the same rule.
    assert client.get(f"/forms/cases/{case.pk}/preview/", {"doc": "jt_nintei"}).status_code == 403
    assert client.get(f"/forms/cases/{case.pk}/preview/", {"doc": "kokuho_shutoku"}).status_code == 200
    assert [e.details["operation"] for e in _refusals(case.pk)] == ["issue", "preview"]


def test_a_municipal_admin_issues_every_form_of_the_case(family):
    from forms_builder import selectors, services
    from tenants.accounts.models import User

    case = family["case"]
    admin = User.objects.get(username="admin")
    admin.areas = []  # by role, not by the areas given
    admin.save(update_fields=["areas"])
    plans = selectors.case_plans(actor=admin, case=case)
    assert all(p.refusal == "" for p in plans)
    issued = services.document_issue(actor=admin, counter=family["counter"], case=case, channel="print")
    issued_codes = {i["template"] for i in issued.document.items}
    assert {"juki_idou", "kokuho_shutoku", "jt_nintei", "kodomo_iryou", "gak_tennyugaku", "guidance"} <= issued_codes
    assert issued_codes == {p.template_code for p in plans} and issued.left_out == []


def test_the_bundle_holds_the_forms_allowed_and_the_page_lists_those_left_out(family, tenant_a):
    from audit.models import AuditEvent
    from forms_builder import selectors, services

    case, kokuho = family["case"], family["kokuho"]
    every = {p.template_code for p in selectors.case_plans(actor=family["staff"], case=case)}
    issued = services.document_issue(actor=kokuho, counter=family["counter"], case=case, channel="print")
    # The 国保 form and the area-free 手続き案内票; every other form is left out, each with its reason.
    assert [i["template"] for i in issued.document.items] == ["guidance", "kokuho_shutoku"]
    left_out = {p.template_code: p.refusal for p in issued.left_out}
    assert set(left_out) == every - {"guidance", "kokuho_shutoku"}
    assert "「住民異動届」は発行できません：「住民基本台帳」の担当業務がありません。" == left_out["juki_idou"]
    assert "「児童手当」の担当業務がありません" in left_out["jt_nintei"]
    event = AuditEvent.objects.get(target_type="form_document", target_id=str(issued.document.pk))
    assert {f["template"] for f in event.details["left_out"]} == set(left_out)

    client = staff_client(tenant_a, "kokuho1", counter=family["counter"])
    page = client.get(f"/forms/cases/{case.pk}/").content.decode()
    section = page[page.index('id="forms-left-out"'):]
    section = section[:section.index("</div>")]
    assert "PDF（プレビュー・印刷・ダウンロード・タブレット）に含めません" in section
    for reason in left_out.values():
        assert reason in section
    assert "国民健康保険 資格取得届" not in section
    assert f'action="/forms/cases/{case.pk}/issue/"' in page  # the bundle buttons stay: something is allowed
    # staff1 (every area) sees no such list.
    full = staff_client(tenant_a, "staff1", counter=family["counter"]).get(f"/forms/cases/{case.pk}/")
    assert 'id="forms-left-out"' not in full.content.decode()


def test_nothing_to_issue_hides_the_buttons_and_is_refused(family, tenant_a):
    from forms_builder import services

    case = family["case"]
    nobody = _member("zei1", areas=["zei"])
    # The 手続き案内票 is area-free: even a 税 member may hand it to the resident …
    services.document_issue(actor=nobody, counter=family["counter"], case=case, channel="print", codes=["guidance"])
    # … so the bundle is not empty; without the 案内票 template nothing would be left, and the page hides the buttons.
    from forms_builder.models import FormTemplate

    FormTemplate.objects.filter(code="guidance").update(is_active=False)
    with pytest.raises(PermissionDenied):
        services.document_issue(actor=nobody, counter=family["counter"], case=case, channel="print")
    page = staff_client(tenant_a, "zei1", counter=family["counter"]).get(f"/forms/cases/{case.pk}/").content.decode()
    assert f'action="/forms/cases/{case.pk}/issue/"' not in page
    assert "どれも担当業務外のため発行できません" in page


def test_a_reprint_follows_the_same_rule(family, tenant_a):
    from audit.models import AuditEvent
    from forms_builder import services
    from forms_builder.models import IssuedDocument

    case, kokuho = family["case"], family["kokuho"]
    bundle = services.document_issue(actor=family["staff"], counter=family["counter"], case=case,
                                     channel="print").document
    own = services.document_issue(actor=kokuho, counter=family["counter"], case=case, channel="print",
                                  codes=["kokuho_shutoku"]).document
    with pytest.raises(PermissionDenied) as caught:
        services.document_reissue(actor=kokuho, document=bundle, channel="print")
    assert "「児童手当 認定請求書」は発行できません" in str(caught.value)
    refused = AuditEvent.objects.get(action="refused", target_type="form_document", target_id=str(bundle.pk))
    assert refused.details["operation"] == "reissue"
    again = services.document_reissue(actor=kokuho, document=own, channel="print")
    assert again.document.pk != own.pk

    count = IssuedDocument.objects.count()
    client = staff_client(tenant_a, "kokuho1", counter=family["counter"])
    response = client.post(f"/forms/documents/{bundle.pk}/", {"channel": "download"})
    assert response.status_code == 403 and "担当業務がありません" in response.content.decode()
    assert IssuedDocument.objects.count() == count
    assert client.post(f"/forms/documents/{own.pk}/", {"channel": "download"}).status_code == 200
    # The case screen offers the reprint only where the selector allows it.
    page = client.get(f"/forms/cases/{case.pk}/").content.decode()
    assert f'action="/forms/documents/{own.pk}/"' in page and f'action="/forms/documents/{bundle.pk}/"' not in page


def test_a_document_issued_before_areas_were_recorded_is_checked_against_the_case(family):
    """Documents stored before this rule have no ``areas`` in their items: found again from the case."""
    from forms_builder import services
    from forms_builder.models import IssuedDocument

    case, kokuho = family["case"], family["kokuho"]
    document = services.document_issue(actor=family["staff"], counter=family["counter"], case=case, channel="print",
                                       codes=["jt_nintei"]).document
    IssuedDocument.objects.filter(pk=document.pk).update(
        items=[{k: v for k, v in i.items() if k != "areas"} for i in document.items])
    document.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.document_reissue(actor=kokuho, document=document, channel="print")
    child = _member("jt1", areas=["jidou_teate"])
    services.document_reissue(actor=child, document=document, channel="print")


def test_certificate_request_forms_follow_the_area_of_the_certificate(setup, tenant_a):  # noqa: F811
    from forms_builder import services
    from forms_builder.models import FormTemplate
    from navigation.cases.services import case_open
    from tests.test_search import make_resident

    assert dict(FormTemplate.objects.filter(kind="certificate").values_list("code", "area")) == {
        "cert_juminhyo": "juki", "cert_inkan": "inkan", "cert_koseki": "koseki", "cert_zei": "zei"}
    resident = make_resident(name="証明 花子", kana="ショウメイ ハナコ", birth=date(1975, 3, 3), sex="2",
                             address="テストA市山下町5番6号")
    type(resident).objects.filter(pk=resident.pk).update(postcode="8920816")
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[resident.atena_no])
    services.certificate_request_set(actor=setup["staff"], counter=setup["counter"], case=case,
                                     template_code="cert_juminhyo", kind="juminhyo", copies="1", purpose="就職")
    services.case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case,
                               values={("phone", ""): "099-111-2222"})
    with pytest.raises(PermissionDenied) as caught:
        services.document_issue(actor=_member("kokuho1", areas=["kokuho"]), counter=setup["counter"], case=case,
                                channel="print")
    assert "「住民票の写し等交付請求書（証明 花子）」は発行できません：「住民基本台帳」の担当業務がありません。" == str(
        caught.value)
    issued = services.document_issue(actor=_member("juki1", areas=["juki"]), counter=setup["counter"], case=case,
                                     channel="print")
    assert [i["template"] for i in issued.document.items] == ["cert_juminhyo"]
    # Admins see each template's own area on 「申請書の様式」.
    page = staff_client(tenant_a, "admin").get("/forms/templates/").content.decode()
    row = page[page.index("<code>cert_juminhyo</code>"):]
    assert row[:row.index("</tr>")].count("住民基本台帳") == 1


def test_another_municipalitys_document_with_the_same_id_is_404(family, tenant_a, tenant_b):
    from forms_builder import services
    from forms_builder.models import IssuedDocument
    from navigation.cases.services import case_open
    from tenants.accounts.models import Counter, User

    with in_tenant(tenant_b):
        services.templates_install_defaults()
        staff_b, counter_b = User.objects.get(username="staff1"), Counter.objects.order_by("pk").first()
        newcomer = {"name": "別区 太郎", "name_kana": "ベック タロウ", "birth_date": date(1990, 1, 1)}
        case_b = case_open(actor=staff_b, counter=counter_b, newcomers=[newcomer])
        services.certificate_request_set(actor=staff_b, counter=counter_b, case=case_b, template_code="cert_juminhyo",
                                         kind="juminhyo", copies="1", purpose="勤務先への提出")
        services.case_entries_save(actor=staff_b, counter=counter_b, case=case_b, values={("phone", ""): "03-0"})
        doc_b = services.document_issue(actor=staff_b, counter=counter_b, case=case_b, channel="print").document
    assert not IssuedDocument.objects.filter(pk=doc_b.pk).exists()  # in A's schema: no document of that id
    for username in ("kokuho1", "staff1", "admin"):
        client = staff_client(tenant_a, username, counter=family["counter"])
        assert client.post(f"/forms/documents/{doc_b.pk}/", {"channel": "download"}).status_code == 404
    # The same id in A is A's own document (and A's rule applies to it), never B's.
    document = services.document_issue(actor=family["staff"], counter=family["counter"], case=family["case"],
                                       channel="print", codes=["jt_nintei"]).document
    IssuedDocument.objects.filter(pk=document.pk).update(id=doc_b.pk)
    client = staff_client(tenant_a, "kokuho1", counter=family["counter"])
    response = client.post(f"/forms/documents/{doc_b.pk}/", {"channel": "download"})
    assert response.status_code == 403 and "児童手当 認定請求書" in response.content.decode()


def test_the_tablet_push_and_the_signed_pdf_follow_the_same_rule(world, tenant_a):  # noqa: F811
    """The tablet channel goes through ``document_issue``: a 国保 member's bundle pushes only the forms they may
    issue (the page names the others); printing the signed 住民異動届 is a reprint, refused to them."""
    import json

    from forms_builder.tablet import services as tablet_services
    from forms_builder.tablet.models import TabletPush
    from tenants.accounts.models import Desk
    from tenants.accounts.services import desk_sit
    from tests.test_forms_tablet_rules import STROKES, pair, png_data_url, push

    case, counter = world["case"], world["counter"]
    kokuho = _member("kokuho1", areas=["kokuho"])
    counter.staff.add(kokuho)
    desk_sit(actor=kokuho, desk_id=Desk.objects.create(counter=counter, name="2番席").pk)
    code, _pairing = tablet_services.pairing_code_create(actor=kokuho)
    tablet, _token = tablet_services.tablet_pair(code=code, client="10.0.0.6")
    client = staff_client(tenant_a, "kokuho1", counter=counter)
    response = client.post(f"/forms/cases/{case.pk}/issue/", {"channel": "tablet"}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200 and "タブレットに送りました" in page
    assert "次の申請書は含めていません" in page and "「住民異動届」は発行できません" in page
    pushed = TabletPush.objects.get(tablet=tablet)
    assert [i["template"] for i in pushed.document.items] == ["guidance", "kokuho_shutoku"]

    tablet_1, _token = pair(world)
    signed_push = push(world, codes=("juki_idou",))
    tablet_services.signature_submit(tablet=tablet_1, push_id=signed_push.pk, strokes=json.dumps(STROKES),
                                     png=png_data_url())
    response = client.post(f"/tablet/cases/{case.pk}/signed/")
    assert response.status_code == 403 and "「住民異動届」は発行できません" in response.content.decode()
    own = staff_client(tenant_a, "staff1", counter=counter).post(f"/tablet/cases/{case.pk}/signed/")
    assert own.status_code == 200 and own["Content-Type"] == "application/pdf"

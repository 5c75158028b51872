"""Templates and versions, bad input (bindings, backgrounds, staff inputs, 町字 CSV), the hand-back
enrichment and the plug-in registries."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from tests.test_forms_family import STAFF_INPUTS, open_family_case, setup  # noqa: F401 - fixture


@pytest.fixture
def admin(in_a):
    from tenants.accounts.models import User

    return User.objects.get(username="admin")


@pytest.fixture
def template(in_a):
    from forms_builder.services import templates_install_defaults

    templates_install_defaults()
    from forms_builder.models import FormTemplate

    return FormTemplate.objects.get(code="inkan_touroku")


def test_a_binding_to_a_field_that_does_not_exist_is_refused_naming_the_field(admin, template):
    from forms_builder.services import template_draft_save

    bad = [{"type": "text", "key": "name", "label": "氏名", "binding": "person.nosuch", "x": 10, "y": 10, "w": 50,
            "h": 8},
           {"type": "text", "key": "x", "label": "住所", "binding": "nowhere.address", "x": 10, "y": 20, "w": 50,
            "h": 8},
           {"type": "text", "key": "y", "label": "はみ出し", "binding": "person.name", "x": 190, "y": 20, "w": 50,
            "h": 8},
           {"type": "text", "key": "z", "label": "変換", "binding": "person.birth_date|nosuch", "x": 10, "y": 40,
            "w": 50, "h": 8}]
    before = list(template.versions.values_list("pk", "status"))
    with pytest.raises(ValidationError) as caught:
        template_draft_save(actor=admin, template=template, fields=bad)
    text = " ".join(caught.value.messages)
    assert "項目1「氏名」" in text and "nosuch" in text
    assert "項目2「住所」" in text and "nowhere" in text
    assert "項目3「はみ出し」" in text and "用紙" in text
    assert "項目4「変換」" in text
    assert list(template.versions.values_list("pk", "status")) == before


def test_draft_publish_and_immutable_versions_and_issued_documents_keep_their_version(admin, template):
    from forms_builder.models import FormVersion
    from forms_builder.selectors import version_in_force
    from forms_builder.services import template_draft_save, template_publish

    v1 = version_in_force(template=template)
    fields = [dict(f) for f in v1.fields]
    fields[0]["text"] = "印鑑登録申請書（改）"
    draft = template_draft_save(actor=admin, template=template, fields=fields)
    assert draft.status == "draft" and version_in_force(template=template).pk == v1.pk
    with pytest.raises(ValidationError):
        template_publish(actor=admin, template=template, effective_from=date.today() - timedelta(days=1))
    v2 = template_publish(actor=admin, template=template, effective_from=date.today() + timedelta(days=7))
    assert v2.number == 2 and version_in_force(template=template).pk == v1.pk
    assert version_in_force(template=template, on=date.today() + timedelta(days=7)).pk == v2.pk
    v2.note = "changed"
    with pytest.raises(ValueError):
        v2.save()
    with pytest.raises(ValueError):
        FormVersion.objects.get(pk=v1.pk).delete()


def test_staff_cannot_edit_templates(template, in_a):
    from django.core.exceptions import PermissionDenied

    from forms_builder.services import template_draft_save
    from tenants.accounts.models import User

    with pytest.raises(PermissionDenied):
        template_draft_save(actor=User.objects.get(username="staff1"), template=template, fields=[])


def _png(width: int = 20, height: int = 30) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def test_backgrounds_other_than_pdf_or_image_or_over_10mb_are_refused(admin, in_a):
    from forms_builder.models import FormBackground
    from forms_builder.services import background_upload

    with pytest.raises(ValidationError) as caught:
        background_upload(actor=admin, file_name="様式.docx", data=b"PK\x03\x04 not a pdf")
    assert "様式.docx" in caught.value.messages[0] and "PDF・PNG・JPEG" in caught.value.messages[0]
    with pytest.raises(ValidationError) as caught:
        background_upload(actor=admin, file_name="big.pdf", data=b"%PDF-1.7" + b"0" * (10 * 1024 * 1024))
    assert "10 MB" in caught.value.messages[0]
    with pytest.raises(ValidationError) as caught:
        background_upload(actor=admin, file_name="broken.pdf", data=b"%PDF-1.7 this is not really a pdf")
    assert "PDF を読み取れません" in caught.value.messages[0]
    assert not FormBackground.objects.exists()
    image = background_upload(actor=admin, file_name="scan.png", data=_png())
    assert (image.width_px, image.height_px) == (20, 30)


def test_a_pdf_background_is_rasterised_at_300_dpi_and_printed_behind_the_fields(admin, template):
    from weasyprint import HTML

    from forms_builder.services import background_upload, template_draft_save

    pdf = HTML(string="<style>@page{size:A4;margin:0}</style><p>公式様式</p>").write_pdf()
    background = background_upload(actor=admin, file_name="official.pdf", data=pdf)
    assert abs(background.width_px - 2480) <= 1 and abs(background.height_px - 3508) <= 1  # A4 at 300 dpi
    draft = template_draft_save(actor=admin, template=template, background=background)
    assert draft.background_id == background.pk
    import pdfplumber

    from forms_builder import render
    from forms_builder.services import _backgrounds
    from tests.test_forms_render import ctx_for, person

    plan = render.plan_document(version=draft, ctx=ctx_for([person()]))
    out, _pages = render.render_pdf([plan], backgrounds=_backgrounds([plan]))
    with pdfplumber.open(io.BytesIO(out)) as doc:
        page = doc.pages[0]
        (image,) = page.images
        assert round(image["width"]) == round(page.width) and round(image["height"]) == round(page.height)
        assert "窓口太郎" in "".join(c["text"] for c in page.chars).replace(" ", "")


def test_staff_inputs_are_validated_together_and_nothing_is_saved_on_a_bad_one(setup):  # noqa: F811
    from forms_builder.models import CaseEntry
    from forms_builder.services import case_entries_save

    case = open_family_case(setup)
    with pytest.raises(ValidationError) as caught:
        case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case, values={
            ("new_address", ""): {"code": "9999999", "banchi": "1番"},
            ("phone", ""): "099-000-1234",
            ("previous_address", ""): "x" * 201,
        })
    text = " ".join(caught.value.messages)
    assert "新しい住所" in text and "9999999" in text and "転入前の住所" in text and "200文字" in text
    assert not CaseEntry.objects.filter(case=case).exists()


def test_closing_the_case_hands_back_the_new_address_in_the_one_existing_record(setup):  # noqa: F811
    from forms_builder.services import case_entries_save
    from integration.exports.models import ExportRecord
    from navigation.cases.services import case_close, case_procedure_set_status

    case = open_family_case(setup)
    case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case, values=STAFF_INPUTS)
    for procedure in case.procedures.all():
        case_procedure_set_status(actor=setup["staff"], counter=setup["counter"], procedure=procedure, status="done")
    case_close(actor=setup["staff"], counter=setup["counter"], case=case)
    records = list(ExportRecord.objects.filter(source="navigation.case", kind="juki_idou"))
    assert len(records) == 5  # one per person, as before: never a second record
    for row in records:
        assert row.payload["new_address"] == "テストA市山下町11番1号"
        assert row.payload["new_katagaki"] == "みなみ荘 203" and row.payload["new_postcode"] == "8920816"
        assert row.payload["old_address"] == "東京都千代田区霞が関1丁目1番1号"


def test_address_master_csv_bad_lines_are_named_and_nothing_is_stored(admin, in_a):
    from forms_builder.models import AddressArea
    from forms_builder.services import address_areas_import

    bad = "町字ID,大字・町名,丁目名,郵便番号\n0001001,山下町,,8920816\n0001002,,,\n0001003,東千石町,,89208\n"
    with pytest.raises(ValidationError) as caught:
        address_areas_import(actor=admin, data=bad.encode(), file_name="mj.csv")
    assert "3行目" in caught.value.messages[0] and "4行目" in caught.value.messages[1]
    assert not AddressArea.objects.exists()
    good = ("町字ID,大字・町名,丁目名,大字・町名_カナ,郵便番号\n"
            "0001001,山下町,,ヤマシタチョウ,8920816\n0001002,新町,一丁目,シンマチ,\n")
    assert address_areas_import(actor=admin, data=good.encode("cp932"), file_name="abr.csv") == 2
    assert AddressArea.objects.get(code="0001002").name == "新町一丁目"
    assert AddressArea.objects.get(code="0001001").source == "abr"


def test_address_master_is_seeded_from_the_mirror_address_codes(in_a):
    from forms_builder.models import AddressArea
    from forms_builder.services import address_areas_seed_from_mirror
    from integration.models import Resident
    from tests.test_search import make_resident

    resident = make_resident(name="町字 太郎", address="テストA市新町二丁目3番4号")
    Resident.objects.filter(pk=resident.pk).update(address_code="462010099", postcode="8920000")
    assert address_areas_seed_from_mirror() == 1
    area = AddressArea.objects.get(code="462010099")
    assert area.name == "新町二丁目" and area.postcode == "8920000" and area.source == "mirror"


def test_a_source_and_a_channel_plug_in_without_changing_forms_builder(setup):  # noqa: F811
    from forms_builder import channels, selectors, services, sources
    from forms_builder.models import FormTemplate
    from forms_builder.services import template_draft_save

    class CardSource(sources.BindingSource):
        key = "testcard"
        label = "カード（試験）"
        fields = (sources.SourceField("name", "氏名"),)

        def resolve(self, ctx, name, *, row=None):  # noqa: ANN001,ANN201
            return sources.Resolved(f"カード:{(row or ctx.person).name}")

    class Tablet(channels.OutputChannel):
        key = "testtablet"
        label = "タブレット（試験）"
        delivered: list = []

        def deliver(self, *, document, pdf, actor, request=None):  # noqa: ANN001,ANN201
            self.delivered.append(document.pk)
            return channels.Delivery(message="送りました")

    sources.register(CardSource())
    channels.register(Tablet())
    try:
        from tenants.accounts.models import User

        template = FormTemplate.objects.get(code="juki_idou")
        template_draft_save(actor=User.objects.get(username="admin"), template=template, fields=[
            {"type": "text", "key": "card", "label": "カード氏名", "binding": "testcard.name", "x": 10, "y": 10,
             "w": 80, "h": 10}])
        services.template_publish(actor=User.objects.get(username="admin"), template=template,
                                  effective_from=date.today())
        case = open_family_case(setup)
        plans = selectors.case_plans(actor=setup["staff"], case=case, codes=["juki_idou"])
        assert plans[0].results[0].value.startswith("カード:")
        issued = services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case,
                                         channel="testtablet", codes=["juki_idou"])
        assert issued.delivery.message == "送りました" and Tablet.delivered == [issued.document.pk]
    finally:
        sources._sources.pop("testcard", None)
        channels._channels.pop("testtablet", None)


def test_certificate_request_without_a_life_event_is_filled_from_the_mirror(setup):  # noqa: F811
    import pdfplumber

    from forms_builder import selectors, services
    from navigation.cases.services import case_open
    from tests.test_search import make_resident

    resident = make_resident(name="証明 花子", kana="ショウメイ ハナコ", birth=date(1975, 3, 3), sex="2",
                             address="テストA市山下町5番6号")
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[resident.atena_no])
    assert case.events == [] and selectors.case_documents(case=case) == []
    with pytest.raises(ValidationError) as caught:
        services.certificate_request_set(actor=setup["staff"], counter=setup["counter"], case=case,
                                         template_code="cert_juminhyo", kind="nosuch", copies="0", purpose="")
    assert len(caught.value.messages) == 3 and "通数" in " ".join(caught.value.messages)
    services.certificate_request_set(actor=setup["staff"], counter=setup["counter"], case=case,
                                     template_code="cert_juminhyo", kind="kisai", copies="2", purpose="年金の手続")
    services.case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case,
                               values={("phone", ""): "099-111-2222"})
    (plan,) = selectors.case_plans(actor=setup["staff"], case=case)
    assert [(r.label, r.reason) for r in plan.resident_blanks] == [("郵便番号", "no_data")]
    type(resident).objects.filter(pk=resident.pk).update(postcode="8920816")
    (plan,) = selectors.case_plans(actor=setup["staff"], case=case)
    assert plan.template_code == "cert_juminhyo" and plan.resident_blanks == [] and plan.problems == []
    issued = services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case, channel="print")
    with pdfplumber.open(io.BytesIO(issued.pdf)) as pdf:
        page = pdf.pages[0]
        text = "".join(c["text"] for c in page.chars)
        assert "年金の手続" in text and "テストA市山下町5番6号" in text and "証明花子" in text.replace(" ", "")
        (mark,) = [c for c in page.chars if c["text"] == "レ"]
        option = next(o for f in plan_fields(plan.template_code) if f.get("type") == "check" for o in f["options"]
                      if o["value"] == "kisai")
        assert option["x"] <= mark["x0"] * 25.4 / 72 <= option["x"] + option["w"]


def plan_fields(code: str) -> list[dict]:
    from forms_builder.models import FormTemplate
    from forms_builder.selectors import version_in_force

    return version_in_force(template=FormTemplate.objects.get(code=code)).fields


def test_an_address_withheld_by_a_support_measure_is_never_printed(setup):  # noqa: F811
    import pdfplumber

    from forms_builder import selectors, services
    from navigation.cases.services import case_open
    from tests.test_search import make_resident, make_support_measure

    resident = make_resident(name="保護 花子", kana="ホゴ ハナコ", birth=date(1975, 3, 3), sex="2",
                             address="テストA市秘密町1番1号")
    make_support_measure(resident.atena_no)
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[resident.atena_no])
    services.certificate_request_set(actor=setup["staff"], counter=setup["counter"], case=case,
                                     template_code="cert_juminhyo", kind="juminhyo", copies="1", purpose="本人確認")
    services.case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case,
                               values={("phone", ""): "099-111-2222"})
    (plan,) = selectors.case_plans(actor=setup["staff"], case=case)
    address = next(r for r in plan.results if r.binding == "computed.address")
    assert address.value == "" and address.reason == "restricted"
    pdf = services.case_preview(actor=setup["staff"], case=case)
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        text = "".join(c["text"] for c in doc.pages[0].chars)
    assert "秘密町" not in text and "保護" in text


def test_a_household_moving_within_the_town_prints_the_mirror_address_as_the_old_one(setup):  # noqa: F811
    from forms_builder import selectors, services
    from integration.models import Resident
    from navigation.cases.services import case_open
    from tests.test_forms_family import interview
    from tests.test_search import make_resident

    head = make_resident(name="転居 一郎", kana="テンキョ イチロウ", birth=date(1970, 1, 1), household_no="800000019",
                         address="テストA市旧町1番2号")
    wife = make_resident(name="転居 花子", kana="テンキョ ハナコ", birth=date(1972, 2, 2), household_no="800000019",
                         relationship="妻", sex="2", address="テストA市旧町1番2号")
    Resident.objects.filter(pk__in=[head.pk, wife.pk]).update(postcode="8920001")
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[head.atena_no, wife.atena_no],
                     events=["tenkyo"])
    interview(case, setup["staff"], setup["counter"])
    services.case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case, values={
        ("new_address", ""): {"code": "4620100001", "banchi": "3番4号"}, ("phone", ""): "099-000-1234"})
    plans = {p.template_code: p for p in selectors.case_plans(actor=setup["staff"], case=case)}
    values = {r.binding: r.value for r in plans["juki_idou"].results}
    assert values["computed.old_address"] == "テストA市旧町1番2号"
    assert values["computed.new_address"] == "テストA市山下町3番4号"
    assert values["computed.juki_todoke_kind"] == "tenkyo" and values["computed.old_head"] == "転居 一郎"
    assert plans["juki_idou"].resident_blanks == []


def test_staff_fill_a_blank_on_screen_and_it_counts_as_staff_typed(setup, tenant_a):  # noqa: F811
    from forms_builder import selectors
    from navigation.cases.services import case_open
    from tests.conftest import staff_client
    from tests.test_search import make_resident

    resident = make_resident(name="空欄 太郎", kana="クウラン タロウ", birth=date(1975, 3, 3))
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[resident.atena_no])
    client = staff_client(tenant_a, "staff1", counter=setup["counter"])
    response = client.post(f"/forms/cases/{case.pk}/certificate/", {"template": "cert_inkan", "kind": "inkan",
                                                                    "copies": "1", "purpose": "不動産登記"})
    assert response.status_code == 302
    client.post(f"/forms/cases/{case.pk}/inputs/", {"in:phone:": "099-000-0000"})
    (plan,) = selectors.case_plans(actor=setup["staff"], case=case)
    (blank,) = plan.resident_blanks
    assert blank.label == "郵便番号" and blank.reason == "no_data"
    page = client.get(f"/forms/cases/{case.pk}/").content.decode()
    assert "郵便番号" in page and "住民記録・カードにデータがありません" in page
    client.post(f"/forms/cases/{case.pk}/fill/", {"template": "cert_inkan", "field": blank.key,
                                                  "person": plan.person_key, "value": "892-0816"})
    (plan,) = selectors.case_plans(actor=setup["staff"], case=case)
    assert plan.resident_blanks == [] and any(r.label == "郵便番号" and r.staff_typed for r in plan.results)
    assert "本人が書く空欄 0 か所" in client.get(f"/forms/cases/{case.pk}/").content.decode()


def test_template_json_errors_are_reported_with_line_and_column(admin, template, tenant_a):
    from tests.conftest import staff_client

    client = staff_client(tenant_a, "admin")
    response = client.post("/forms/templates/inkan_touroku/", {"action": "save", "fields": '[\n{"type": }\n]'},
                           follow=True)
    assert "「項目」をJSONとして読めません（2行" in response.content.decode()  # the line named
    assert template.versions.filter(status="draft").count() == 0


def test_issuing_is_refused_while_a_value_does_not_fit_and_nothing_is_stored(setup):  # noqa: F811
    from forms_builder import services
    from forms_builder.models import IssuedDocument

    case = open_family_case(setup)
    values = dict(STAFF_INPUTS)
    values[("previous_address", "")] = "東京都千代田区霞が関一丁目" + "とても長い建物の名前" * 12
    services.case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case, values=values)
    with pytest.raises(ValidationError) as caught:
        services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case, channel="print",
                                codes=["juki_idou"])
    assert any(m.startswith("住民異動届：「前の住所」") and "収まりません" in m for m in caught.value.messages)
    assert not IssuedDocument.objects.filter(case=case).exists()

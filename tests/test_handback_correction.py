"""訂正 after hand-back (issue 14 last item, issue 12 item 9): a value a closed case handed back to the core system
is corrected on the closed case with a reason; one correction record per affected hand-back record goes through
the same export channel, naming the original record and carrying the full corrected values; the original is
never changed or resent; a signed document the value is printed on is re-issued to be signed again."""

from __future__ import annotations

import copy
import csv
import io
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from tests.conftest import CITY_A, in_tenant, staff_client
from tests.test_forms_family import STAFF_INPUTS, open_family_case, setup  # noqa: F401 - fixture

KATAGAKI = ("new_address", "")
NEW_KATAGAKI = "みなみ荘 302"
REASON = "住民から部屋番号の誤りの申出（電話）"


def close(setup, case):  # noqa: ANN001, ANN201, F811
    from navigation.cases.services import case_close, case_procedure_set_status

    for procedure in case.procedures.all():
        case_procedure_set_status(actor=setup["staff"], counter=setup["counter"], procedure=procedure, status="done")
    case.refresh_from_db()
    case_close(actor=setup["staff"], counter=setup["counter"], case=case)
    case.refresh_from_db()
    return case


def closed_case(setup):  # noqa: ANN001, ANN201, F811
    from forms_builder.services import case_entries_save

    case = open_family_case(setup)
    case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case, values=STAFF_INPUTS)
    return close(setup, case)


def juki_records():  # noqa: ANN201
    from integration.exports.models import ExportRecord

    return list(ExportRecord.objects.filter(kind="juki_idou").order_by("id"))


def snapshot():  # noqa: ANN201
    """Everything a refused correction must leave as it was."""
    from forms_builder.models import CaseEntry
    from navigation.cases.models import HandbackCorrection

    return ([(r.pk, copy.deepcopy(r.payload), r.corrects_id) for r in juki_records()],
            list(HandbackCorrection.objects.values_list("pk", flat=True)),
            sorted((e.key, repr(e.value)) for e in CaseEntry.objects.all()))


def correct(setup, case, *, field="new_address.katagaki", value=NEW_KATAGAKI, reason=REASON, actor=None):  # noqa: ANN001, ANN201, F811
    from navigation.cases.services import case_handback_correct

    return case_handback_correct(actor=actor or setup["staff"], case=case, field=field, value=value, reason=reason)


def outbox_rows(tenant, tmp_path, layout="standard"):  # noqa: ANN001, ANN201
    from integration.exports.services import outbox_export

    batch = outbox_export(municipality=tenant, kind_code="juki_idou", layout_code=layout)
    if batch is None:
        return []
    text = (tmp_path / tenant.schema_name / "outbox" / batch.filename).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


# ---------------------------------------------------------------------------------------------
# The rule: one correction → exactly one record per affected person, naming the original
# ---------------------------------------------------------------------------------------------
def test_one_correction_sends_one_full_corrected_record_per_person_and_never_resends_the_original(
        setup, tenant_a, settings, tmp_path):  # noqa: F811
    from audit.models import AuditEvent
    from navigation.cases.models import CaseStatus

    settings.LINKAGE_ROOT = tmp_path
    case = closed_case(setup)
    originals = juki_records()
    assert len(originals) == 5
    before = {r.pk: copy.deepcopy(r.payload) for r in originals}
    procedures = sorted(case.procedures.values_list("pk", "status", "updated_at"))
    determination = copy.deepcopy(case.determination)
    handed = outbox_rows(tenant_a, tmp_path)  # the hand-back went out first
    assert len(handed) == 5 and {row["訂正区分"] for row in handed} == {"0"}

    correction = correct(setup, case)

    corrections = [r for r in juki_records() if r.pk not in before]
    assert len(corrections) == 5  # one per person of the hand-back, no more
    assert sorted(r.corrects_id for r in corrections) == sorted(before)
    for row in corrections:
        expected = {**before[row.corrects_id], "new_katagaki": NEW_KATAGAKI}
        assert row.payload == expected  # the full record, only the corrected item differs
        assert row.source == "navigation.case" and row.source_id == case.handback["source_id"]
    for original in originals:  # never modified
        original.refresh_from_db()
        assert original.payload == before[original.pk] and original.corrects_id is None
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.determination == determination
    assert sorted(case.procedures.values_list("pk", "status", "updated_at")) == procedures
    assert correction.old_value == "みなみ荘 203" and correction.new_value == NEW_KATAGAKI
    assert correction.reason == REASON and correction.created_by == setup["staff"]
    assert sorted(item["corrects"] for item in correction.records) == sorted(before)
    event = AuditEvent.objects.get(target_type="case", target_id=str(case.pk), details__change="handback_correction")
    assert event.details["reason"] == REASON and len(event.details["records"]) == 5
    assert NEW_KATAGAKI not in str(event.details)  # the address stays on the correction, not in the trail

    sent = outbox_rows(tenant_a, tmp_path)  # the next outbox file: the corrections only
    assert len(sent) == 5
    assert {row["訂正区分"] for row in sent} == {"1"}
    assert sorted(int(row["訂正元受付連番"]) for row in sent) == sorted(before)
    assert {row["新住所方書"] for row in sent} == {NEW_KATAGAKI}
    assert not {int(row["受付連番"]) for row in sent} & set(before)


def test_a_second_correction_sends_a_second_record_carrying_both_corrections(setup, tenant_a):  # noqa: F811
    from forms_builder.models import CaseEntry

    case = closed_case(setup)
    originals = {r.pk for r in juki_records()}
    correct(setup, case)
    correct(setup, case, field="new_address.banchi", value="12番3号", reason="番地の聞き間違い")
    records = juki_records()
    assert len(records) == 15
    second = records[10:]
    assert {r.corrects_id for r in second} == originals  # always the original hand-back record
    for row in second:
        assert row.payload["new_katagaki"] == NEW_KATAGAKI  # the first correction is kept
        assert row.payload["new_address"] == "テストA市山下町12番3号"
    entry = CaseEntry.objects.get(case=case, key="new_address").value
    assert entry["banchi"] == "12番3号" and entry["katagaki"] == NEW_KATAGAKI  # documents print the corrected value


def test_the_pull_api_hands_out_the_correction_with_its_reference(setup, tenant_a):  # noqa: F811
    from tenants.accounts.services import api_client_create

    case = closed_case(setup)
    originals = {r.pk for r in juki_records()}
    correct(setup, case)
    issued = api_client_create(actor=_admin(), name="住基", scopes=["linkage:read"])
    api = Client(HTTP_HOST=CITY_A.host, HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    body = api.get("/api/v1/integration/exports/juki_idou/", {"after": 0, "limit": 100}).json()
    by_ref = [r for r in body["records"] if r["corrects"]]
    assert len(by_ref) == 5 and {r["corrects"] for r in by_ref} == originals
    assert {r["payload"]["new_katagaki"] for r in by_ref} == {NEW_KATAGAKI}
    assert all(r["corrects"] is None for r in body["records"] if r["id"] in originals)


# ---------------------------------------------------------------------------------------------
# Refused: nothing stored, nothing sent, the field named
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("field", "value", "reason", "key", "words"), [
    ("new_address.katagaki", NEW_KATAGAKI, "  ", "reason", "訂正の理由"),
    ("new_address.katagaki", "みなみ荘 203", REASON, "value", "新住所の方書：訂正前と同じ"),
    ("new_address.katagaki", "あ" * 201, REASON, "value", "方書は200文字以内"),
    ("new_address.postcode", "12345", REASON, "value", "郵便番号は7桁"),
    ("new_address.banchi", "", REASON, "value", "番地を入力"),
    ("nosuch", "x", REASON, "field", "訂正する項目"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_changes(setup, field, value, reason, key, words):  # noqa: F811
    case = closed_case(setup)
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        correct(setup, case, field=field, value=value, reason=reason)
    assert words in " ".join(caught.value.message_dict.get(key, [])), caught.value.message_dict
    assert snapshot() == before


def test_a_case_that_is_not_closed_or_has_no_hand_back_cannot_be_corrected(setup):  # noqa: F811
    from forms_builder.services import case_entries_save
    from navigation.cases.services import case_close, case_open

    case = open_family_case(setup)
    case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case, values=STAFF_INPUTS)
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        correct(setup, case)
    assert "まだ完了していません" in " ".join(caught.value.messages)
    assert snapshot() == before

    quiet = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=None,
                      newcomers=[{"name": "相談 のみ", "name_kana": "ソウダン ノミ", "birth_date": date(1970, 1, 1),
                                  "sex": "1", "relationship": "世帯主"}], event_date=date.today(), events=[])
    case_close(actor=setup["staff"], counter=setup["counter"], case=quiet, close_reason="相談のみ")
    quiet.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        correct(setup, quiet)
    assert "連携した記録がない" in " ".join(caught.value.messages)
    assert snapshot() == before


def _schedule(layout_code):  # noqa: ANN001, ANN201
    from integration.exports.models import ExportSchedule

    return ExportSchedule.objects.create(kind="juki_idou", layout_code=layout_code, mode="interval",
                                         interval_minutes=5, is_active=True)


def test_a_value_longer_than_the_scheduled_fixed_width_column_is_refused(setup, tenant_a):  # noqa: F811
    from integration.exports.services import layout_save

    admin = _admin()
    layout_save(actor=admin, municipality=tenant_a, kind_code="juki_idou", data={
        "code": "narrow", "name": "狭い方書", "format": "fixed", "encoding": "cp932", "header": False,
        "columns": [{"item": "_id", "width": 10}, {"item": "name", "width": 40},
                    {"item": "new_katagaki", "width": 20},
                    {"item": "_correction", "width": 1}, {"item": "_corrects_id", "width": 10}]})
    case = closed_case(setup)
    _schedule("narrow")
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        correct(setup, case, value="グランドメゾンみなみ 1203号室")  # 15 characters = 30 bytes in CP932
    text = " ".join(caught.value.message_dict["value"])
    assert "新住所の方書" in text and "狭い方書" in text and "20 バイト" in text
    assert snapshot() == before
    correct(setup, case, value="みなみ荘 302")  # fits: 12 bytes
    assert len(juki_records()) == 10


def test_a_scheduled_layout_without_the_correction_columns_refuses_the_correction(setup, tenant_a):  # noqa: F811
    """The shipped fixed-width layout of the old system has no 訂正区分: a correction through it would look like a
    second new record, so it is refused before anything is stored."""
    case = closed_case(setup)
    _schedule("legacy_cp932_fixed")
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        correct(setup, case)
    text = " ".join(caught.value.message_dict["value"])
    assert "訂正区分" in text and "旧システム向け" in text
    assert snapshot() == before


def test_a_correction_row_is_never_rendered_by_a_layout_without_the_correction_columns(in_a):
    from django.utils import timezone

    from integration.exports.layouts import builtin_layouts
    from integration.exports.registry import get
    from integration.exports.render import ExportRenderError, RenderRow, render

    legacy = builtin_layouts(get("juki_idou"))[1]
    row = RenderRow(id=7, kind="juki_idou", created_at=timezone.now(), source="x", source_id="1",
                    payload={"name": "窓口 太郎"}, corrects_id=3)
    with pytest.raises(ExportRenderError) as caught:
        render([row], legacy)
    assert "訂正区分" in str(caught.value)
    plain = RenderRow(id=8, kind="juki_idou", created_at=timezone.now(), source="x", source_id="1",
                      payload={"name": "窓口 太郎"})
    assert render([plain], legacy).count == 1


# ---------------------------------------------------------------------------------------------
# Who may correct
# ---------------------------------------------------------------------------------------------
def _user(name):  # noqa: ANN001, ANN201
    from tenants.accounts.models import User

    return User.objects.get(username=name)


def _admin():  # noqa: ANN201
    return _user("admin")


def test_staff_of_another_department_cannot_correct_and_a_supervisor_can(setup):  # noqa: F811
    case = closed_case(setup)
    before = snapshot()
    other = _user("staff2")  # 保険年金課: cannot use the counter the case was closed at
    other.areas = sorted({*other.areas, "juki"})
    other.save(update_fields=["areas"])
    with pytest.raises(PermissionDenied):
        correct(setup, case, actor=other)
    assert snapshot() == before
    leader = _user("leader")
    leader.areas = sorted({*leader.areas, "juki"})
    leader.save(update_fields=["areas"])
    leader.department = other.department  # a 窓口責任者 of any department
    leader.save(update_fields=["department"])
    assert correct(setup, case, actor=leader).created_by == leader


def test_staff_who_do_not_handle_the_kinds_area_cannot_send_the_correction(setup):  # noqa: F811
    case = closed_case(setup)
    staff = setup["staff"]
    staff.areas = [a for a in staff.areas if a != "juki"]
    staff.save(update_fields=["areas"])
    before = snapshot()
    with pytest.raises(PermissionDenied) as caught:
        correct(setup, case, actor=staff)
    assert "訂正を送れません" in str(caught.value)
    assert snapshot() == before


# ---------------------------------------------------------------------------------------------
# Support measures: the correction is protected exactly as the hand-back
# ---------------------------------------------------------------------------------------------
def test_the_correction_of_a_protected_households_record_is_protected_and_masked_for_staff(
        setup, tenant_a, settings, tmp_path):  # noqa: F811
    from forms_builder.services import case_entries_save
    from integration.exports.models import ExportRecord, ExportWatermark
    from integration.exports.services import export_download, outbox_export
    from navigation.cases.services import case_open
    from tests.test_handback import _answer_all
    from tests.test_search import make_resident, make_support_measure

    settings.LINKAGE_ROOT = tmp_path
    protected = make_resident(name="支援 措置子", birth=date(1990, 1, 1), household_no="800000027",
                              address="鹿児島市秘密町1-2-3")
    make_support_measure(protected.atena_no)
    people = {"staff1": setup["staff"], "A": setup["counter"]}
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[protected.atena_no],
                     event_date=date.today(), events=["tenkyo"])
    case = _answer_all(case, people)
    case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case,
                      values={("new_address", ""): {"code": "4620100001", "banchi": "5番", "katagaki": "ひみつ荘 1"}})
    close(setup, case)
    (original,) = ExportRecord.objects.filter(kind="juki_idou")
    assert original.protected
    ExportWatermark.objects.update_or_create(kind="juki_idou", defaults={"last_record_id": original.pk})
    correct(setup, case, value="ひみつ荘 2")
    (fixed,) = ExportRecord.objects.filter(corrects=original)
    assert fixed.protected and fixed.payload["new_katagaki"] == "ひみつ荘 2"
    staff_file = export_download(actor=setup["staff"], municipality=tenant_a, kind_code="juki_idou",
                                 selection="range", date_from=date.today(), date_to=date.today())
    text = staff_file.content.decode("utf-8")
    assert "ひみつ荘" not in text and "秘密町" not in text and staff_file.filename.endswith("_masked.csv")
    batch = outbox_export(municipality=tenant_a, kind_code="juki_idou")
    written = (tmp_path / tenant_a.schema_name / "outbox" / batch.filename).read_text("utf-8")
    assert "ひみつ荘 2" in written and batch.record_count == 1


# ---------------------------------------------------------------------------------------------
# The signed document
# ---------------------------------------------------------------------------------------------
def test_a_corrected_value_on_the_signed_document_reissues_it_and_asks_for_a_new_signature(setup):  # noqa: F811
    from audit.models import AuditEvent
    from forms_builder.models import IssuedDocument
    from forms_builder.services import decrypt_pdf
    from tests.test_forms_tablet_rules import signed_family_case

    case = signed_family_case(setup)[0]["case"]
    close(setup, case)
    documents = set(IssuedDocument.objects.values_list("pk", flat=True))

    correction = correct(setup, case)
    assert correction.signature_required
    document = IssuedDocument.objects.get(pk=correction.document_id)
    assert document.pk not in documents and document.channel == "print" and document.case_id == case.pk
    import pdfplumber

    with pdfplumber.open(io.BytesIO(decrypt_pdf(document.pdf_encrypted))) as pdf:
        text = "".join(c["text"] for page in pdf.pages for c in page.chars).replace(" ", "")
    assert "みなみ荘302" in text
    assert AuditEvent.objects.filter(action="print", target_type="form_document", target_id=str(document.pk)).exists()
    # a second correction changes the re-issued printout too: issued again, still to be signed
    second = correct(setup, case, value="みなみ荘 303", reason="再度の申出")
    assert second.signature_required and second.document_id not in {None, document.pk}


def test_receiving_the_re_signed_paper_ends_the_request_once_audited_and_only_for_those_who_may(
        setup, tenant_a):  # noqa: F811
    """After a correction changed a signed document, the case asks for a new signature until staff record that
    the re-issued paper came back signed: once per correction, audited, by those who may correct."""
    from audit.models import AuditEvent
    from navigation.cases.services import case_correction_signature_received
    from tests.test_forms_tablet_rules import signed_family_case

    case = signed_family_case(setup)[0]["case"]
    close(setup, case)
    correction = correct(setup, case)
    assert correction.signature_required
    client = staff_client(tenant_a, "staff1", counter=setup["counter"])
    asking = "住民の署名を取り直してください"
    assert asking in client.get(f"/navi/cases/{case.pk}/").content.decode()
    # Another department's staff member may not record it (the same rule as correcting).
    with pytest.raises(PermissionDenied):
        case_correction_signature_received(actor=_user("staff2"), case=case, correction_id=correction.pk)
    url = f"/navi/cases/{case.pk}/corrections/{correction.pk}/signature/"
    page = client.post(url, follow=True).content.decode()
    assert "訂正後の申請書の署名を受領しました" in page and asking not in page
    assert AuditEvent.objects.filter(target_type="case", target_id=str(case.pk),
                                     details__change="correction_signature_received").count() == 1
    again = client.post(url, follow=True).content.decode()
    assert "すでに受領済み" in again
    # A correction of a case nobody signed on the tablet asks for nothing; another case's correction is not this one's.
    plain_case = closed_case(setup)
    plain = correct(setup, plain_case)
    with pytest.raises(ValidationError, match="署名の取り直しが不要"):
        case_correction_signature_received(actor=setup["staff"], case=plain_case, correction_id=plain.pk)
    with pytest.raises(ValidationError, match="その訂正はありません"):
        case_correction_signature_received(actor=setup["staff"], case=plain_case, correction_id=correction.pk)


def test_a_correction_without_a_signed_document_needs_no_signature(setup):  # noqa: F811
    case = closed_case(setup)
    correction = correct(setup, case)
    assert not correction.signature_required and correction.document_id is None


# ---------------------------------------------------------------------------------------------
# Screens and isolation
# ---------------------------------------------------------------------------------------------
def test_the_correction_screen_saves_shows_the_history_and_names_bad_fields(setup, tenant_a):  # noqa: F811
    case = closed_case(setup)
    client = staff_client(tenant_a, "staff1")
    url = f"/navi/cases/{case.pk}/corrections/"
    page = client.get(url)
    assert page.status_code == 200 and "新住所の方書" in page.content.decode()
    bad = client.post(url, {"field": "new_address.katagaki", "value": NEW_KATAGAKI, "reason": ""})
    assert bad.status_code == 400 and "訂正の理由を入力してください" in bad.content.decode()
    assert len(juki_records()) == 5
    saved = client.post(url, {"field": "new_address.katagaki", "value": NEW_KATAGAKI, "reason": REASON}, follow=True)
    html = saved.content.decode()
    assert "訂正を送信しました" in html and NEW_KATAGAKI in html and REASON in html
    assert len(juki_records()) == 10
    assert "訂正" in client.get(f"/navi/cases/{case.pk}/").content.decode()


def test_other_staff_get_403_on_the_correction_screen(setup, tenant_a):  # noqa: F811
    case = closed_case(setup)
    client = staff_client(tenant_a, "staff2")
    assert client.get(f"/navi/cases/{case.pk}/corrections/").status_code == 403  # the values are not shown either
    response = client.post(f"/navi/cases/{case.pk}/corrections/",
                           {"field": "new_address.katagaki", "value": NEW_KATAGAKI, "reason": REASON})
    assert response.status_code == 403
    assert len(juki_records()) == 5


def test_a_case_of_b_cannot_be_corrected_from_a_and_bs_outbox_gets_nothing(setup, tenant_a, tenant_b):  # noqa: F811
    from integration.exports.models import ExportRecord
    from navigation.cases.models import Case

    with in_tenant(tenant_b):
        from forms_builder.models import AddressArea
        from forms_builder.services import templates_install_defaults
        from navigation.services import catalogue_install_default
        from tenants.accounts.models import Counter

        catalogue_install_default()
        templates_install_defaults()
        AddressArea.objects.create(code="1310400001", name="新宿", kana="シンジュク", postcode="1600022")
        b_setup = {"staff": _user("staff1"), "counter": Counter.objects.get(name="総合窓口 1番")}
        b_case = open_family_case(b_setup)
        from forms_builder.services import case_entries_save

        inputs = {**STAFF_INPUTS, ("new_address", ""): {"code": "1310400001", "banchi": "1番", "katagaki": "B荘"}}
        case_entries_save(actor=b_setup["staff"], counter=b_setup["counter"], case=b_case, values=inputs)
        close(b_setup, b_case)
        b_records = sorted(ExportRecord.objects.values_list("pk", "payload"))
    a_has_same_id = Case.objects.filter(pk=b_case.pk).exists()
    response = staff_client(tenant_a, "staff1").post(
        f"/navi/cases/{b_case.pk}/corrections/", {"field": "new_address.katagaki", "value": "A荘", "reason": REASON})
    if not a_has_same_id:
        assert response.status_code == 404
    with in_tenant(tenant_b):
        assert sorted(ExportRecord.objects.values_list("pk", "payload")) == b_records


# ---------------------------------------------------------------------------------------------
# Every kind × channel: a correction record is protected exactly as the record it corrects
# ---------------------------------------------------------------------------------------------
def test_every_kind_and_channel_treats_a_correction_like_the_record_it_corrects(in_a, settings, tmp_path):
    """The enumeration of tests/test_exports_protected.py, with a correction of each record: the machine channels
    carry the real address, a person's file masks it unless 「支援措置の閲覧」; a layout without the correction
    columns refuses the file instead of passing a correction off as a new record."""
    from integration.exports import channels, registry, selectors
    from integration.exports.layouts import LayoutSpec
    from integration.exports.render import CORRECTION_ITEMS, ExportRenderError
    from integration.exports.services import export_record_submit
    from tenants.accounts.services import api_client_create
    from tests import test_exports_protected as guard

    settings.LINKAGE_ROOT = tmp_path
    people = guard.people.__wrapped__(in_a)
    client = api_client_create(actor=people.admin, name="住民記録システム", scopes=["linkage:read"]).client
    assert {c.code for c in channels.registered()} <= set(guard.DRIVERS)
    checked = refused = 0
    for kind in registry.registered():
        originals = guard._submit_all(kind, people)
        fixes = [export_record_submit(kind=kind.code, area=kind.area, source="test", source_id=o.source_id,
                                      payload=dict(o.payload), corrects=o) for o in originals]
        assert [f.protected for f in fixes] == [o.protected for o in originals] == [True, True, False]
        carries_address = any(i.address for i in kind.items)
        for channel in channels.registered():
            specs: list[LayoutSpec | None] = selectors.layouts_for(kind=kind) if channel.delivers_file else [None]
            actors = [people.admin, people.linkage] if not channel.to_core_system else [None]
            for spec in specs:
                for actor in actors:
                    where = f"{kind.code} via {channel.code} ({getattr(spec, 'code', 'json')}, {actor})"
                    run = guard.DRIVERS[channel.code]
                    if spec is not None and not CORRECTION_ITEMS <= {c.item for c in spec.columns}:
                        with pytest.raises(ExportRenderError, match="訂正区分"):
                            run(kind=kind, spec=spec, actor=actor, municipality=in_a, outbox=tmp_path, client=client)
                        refused += 1
                        continue
                    got = run(kind=kind, spec=spec, actor=actor, municipality=in_a, outbox=tmp_path, client=client)
                    checked += 1
                    if channel.to_core_system or actor is people.linkage:
                        if carries_address:
                            assert guard.SECRET in got.text, where
                        assert "_masked" not in got.filename, where
                    else:
                        assert guard.SECRET not in got.text and guard.SECRET_KATAGAKI not in got.text, where
                        if carries_address:
                            assert got.filename.endswith(f"_masked.{spec.extension}"), where
    assert checked >= len(registry.registered()) * 3 and refused >= 1


def test_a_correction_keeps_the_originals_protection_and_names_only_an_original(in_a):
    """A record submitted protected (the hand-back read a restricted address) keeps that on its correction even
    when no measure is found today; a correction names the original record, never another correction."""
    from integration.exports.services import export_record_submit

    payload = {"idou_jiyu": "tenkyo", "idou_date": "2026-04-01", "todokede_date": "2026-04-01", "name": "窓口 太郎",
               "new_address": "テストA市山下町1番"}
    original = export_record_submit(kind="juki_idou", area="juki", source="test", source_id="1", payload=payload,
                                     protected=True)
    fix = export_record_submit(kind="juki_idou", area="juki", source="test", source_id="1",
                               payload={**payload, "new_katagaki": "A荘"}, corrects=original)
    assert fix.protected and fix.corrects == original
    with pytest.raises(ValidationError) as caught:
        export_record_submit(kind="juki_idou", area="juki", source="test", source_id="1", payload=payload,
                             corrects=fix)
    assert "訂正元" in " ".join(caught.value.message_dict["corrects"])


def test_only_records_the_value_went_into_get_a_correction(setup):  # noqa: F811
    """A record whose item was filled by something else (a catalogue mapping wins over the form's value) does not
    carry the corrected value, so it gets no correction record."""
    from integration.exports.models import ExportRecord

    case = closed_case(setup)
    first, *others = juki_records()
    ExportRecord.objects.filter(pk=first.pk).update(payload={**first.payload, "new_katagaki": "カタログの方書"})
    correction = correct(setup, case)
    assert sorted(item["corrects"] for item in correction.records) == sorted(r.pk for r in others)
    assert not ExportRecord.objects.filter(corrects=first).exists()

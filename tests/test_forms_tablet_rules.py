"""The resident's tablet (R2.8), server side: pairing codes (6 digits, single use, 5 minutes, 10 wrong codes lock
the client), the tablet's session (only the pushed document, expiry, another municipality), signatures (zero
strokes refused, encrypted, tied to the document's content), recall and close, the audit trail."""

from __future__ import annotations

import base64
import io
import json
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from tests.test_forms_family import STAFF_INPUTS, open_family_case, setup  # noqa: F401 - fixture

STROKES = [{"points": [{"x": 10, "y": 10, "time": 1}, {"x": 60, "y": 40, "time": 2}, {"x": 120, "y": 20, "time": 3}],
            "penColor": "#000"}]


def png_data_url(width: int = 300, height: int = 100) -> str:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(10, 10), (150, 80), (290, 20)], fill=(0, 0, 0, 255), width=6)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def make_case(staff, counter):  # noqa: ANN001, ANN201
    from navigation.cases.services import case_answers_update, case_open

    case = case_open(actor=staff, counter=counter, events=["tennyu"], event_date=date.today(), newcomers=[
        {"name": "髙橋 𠮷子", "name_kana": "タカハシ ヨシコ", "birth_date": date(1990, 4, 10), "sex": "2",
         "relationship": "世帯主"}])
    newcomer = case.persons.get().key
    # 修学中の特例 (国保法第116条) is asked of a person moving in alone: she is not a student kept by her parents.
    case_answers_update(actor=staff, counter=counter, case=case, answers={
        "case:any_employee_insurance": "no", "case:inkan_wish_any": "no", f"{newcomer}:student_special": "no"})
    return case


@pytest.fixture
def world(in_a):
    from forms_builder.services import templates_install_defaults
    from navigation.services import catalogue_install_default
    from tenants.accounts.models import Counter, Desk, User
    from tenants.accounts.services import desk_sit

    catalogue_install_default()
    templates_install_defaults()
    staff = User.objects.get(username="staff1")
    counter = Counter.objects.get(name="総合窓口 1番")
    counter.staff.add(staff)
    desk = Desk.objects.create(counter=counter, name="1番席")
    desk_sit(actor=staff, desk_id=desk.pk)
    return {"staff": staff, "counter": counter, "desk": desk, "case": make_case(staff, counter)}


def pair(world):  # noqa: ANN001, ANN201
    from forms_builder.tablet import services

    code, _pairing = services.pairing_code_create(actor=world["staff"])
    return services.tablet_pair(code=code, client="10.0.0.5")


def push(world, codes=("juki_idou",)):  # noqa: ANN001, ANN201
    from forms_builder.services import document_issue
    from forms_builder.tablet.models import TabletPush

    issued = document_issue(actor=world["staff"], counter=world["counter"], case=world["case"], channel="tablet",
                            codes=list(codes))
    return TabletPush.objects.get(document=issued.document)


# ---------------------------------------------------------------------------------------------
# Pairing codes
# ---------------------------------------------------------------------------------------------
def test_a_pairing_code_has_six_digits_and_pairs_once(world):
    from forms_builder.tablet import services
    from forms_builder.tablet.models import PairingCode

    code, pairing = services.pairing_code_create(actor=world["staff"])
    assert len(code) >= 6 and code.isdigit()
    assert code not in pairing.code_hash  # only a hash is stored
    assert pairing.expires_at - pairing.created_at <= timedelta(minutes=5, seconds=1)
    tablet, token = services.tablet_pair(code=code, client="10.0.0.5")
    assert tablet.desk == world["desk"] and len(token) >= 32
    with pytest.raises(ValidationError) as caught:
        services.tablet_pair(code=code, client="10.0.0.6")
    assert "使用済み" in " ".join(caught.value.messages)
    assert PairingCode.objects.get(pk=pairing.pk).tablet == tablet


def test_a_pairing_code_expires_after_five_minutes(world):
    from forms_builder.tablet import services
    from forms_builder.tablet.models import PairingCode

    code, pairing = services.pairing_code_create(actor=world["staff"])
    PairingCode.objects.filter(pk=pairing.pk).update(created_at=timezone.now() - timedelta(minutes=5, seconds=1),
                                                     expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError) as caught:
        services.tablet_pair(code=code, client="10.0.0.5")
    assert "有効期限" in " ".join(caught.value.messages)
    # still valid 4 minutes 59 seconds after it was issued
    code, pairing = services.pairing_code_create(actor=world["staff"])
    PairingCode.objects.filter(pk=pairing.pk).update(expires_at=timezone.now() + timedelta(seconds=1))
    services.tablet_pair(code=code, client="10.0.0.5")


def test_a_code_that_is_not_six_digits_is_refused_naming_the_field(world):
    from forms_builder.tablet import services

    for bad in ("12345", "1234567", "abcdef", "", "12 456"):
        with pytest.raises(ValidationError) as caught:
            services.tablet_pair(code=bad, client="10.0.0.7")
        assert "code" in caught.value.message_dict


def test_ten_wrong_codes_lock_pairing_for_that_client_only(world):
    from audit.models import AuditEvent
    from forms_builder.tablet import services

    code, _pairing = services.pairing_code_create(actor=world["staff"])
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    for _i in range(9):
        with pytest.raises(ValidationError):
            services.tablet_pair(code=wrong, client="10.0.0.9")
    assert not services.pairing_locked(client="10.0.0.9")
    with pytest.raises(ValidationError):
        services.tablet_pair(code=wrong, client="10.0.0.9")
    assert services.pairing_locked(client="10.0.0.9")
    with pytest.raises(ValidationError) as caught:  # even the right code now
        services.tablet_pair(code=code, client="10.0.0.9")
    assert "停止" in " ".join(caught.value.messages)
    assert AuditEvent.objects.filter(action="lockout", target_type="tablet").exists()
    tablet, _token = services.tablet_pair(code=code, client="10.0.0.10")  # another client is not locked
    assert tablet.pk


def test_a_code_needs_a_seated_staff_member(world):
    from forms_builder.tablet import services
    from tenants.accounts.models import User

    with pytest.raises(ValidationError):
        services.pairing_code_create(actor=User.objects.get(username="staff2"))


# ---------------------------------------------------------------------------------------------
# The tablet's session
# ---------------------------------------------------------------------------------------------
def test_the_tablet_sees_only_the_document_pushed_to_it(world):
    from forms_builder.tablet import selectors

    tablet, token = pair(world)
    first = push(world)
    assert selectors.live_push(tablet=tablet) == first
    client = Client(HTTP_HOST="testa.localhost")
    client.cookies["madoguchi_tablet"] = token
    response = client.get(f"/tablet/push/{first.pk}/page/1/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "no-store" in response["Cache-Control"]
    # another document id (a staff document, an older push) is not reachable
    second = push(world)
    assert client.get(f"/tablet/push/{first.pk}/page/1/").status_code == 404
    assert client.get(f"/tablet/push/{second.pk}/page/1/").status_code == 200
    assert client.get(f"/tablet/push/{second.pk + 1000}/page/1/").status_code == 404
    assert client.post(f"/forms/documents/{second.document_id}/", {"channel": "download"}).status_code == 302
    # a tablet without cookie reaches nothing
    anonymous = Client(HTTP_HOST="testa.localhost")
    assert anonymous.get(f"/tablet/push/{second.pk}/page/1/").status_code == 403
    assert anonymous.get("/tablet/state/").status_code == 403


def test_another_tablet_cannot_open_this_tablets_document(world):
    from forms_builder.tablet import services
    from tenants.accounts.models import Counter, Desk, User
    from tenants.accounts.services import desk_sit

    _tablet, _token = pair(world)
    pushed = push(world)
    staff2 = User.objects.get(username="staff2")
    counter = Counter.objects.get(name="総合窓口 1番")
    counter.staff.add(staff2)
    desk2 = Desk.objects.create(counter=counter, name="2番席")
    desk_sit(actor=staff2, desk_id=desk2.pk)
    code, _p = services.pairing_code_create(actor=staff2)
    other, other_token = services.tablet_pair(code=code, client="10.0.0.8")
    client = Client(HTTP_HOST="testa.localhost")
    client.cookies["madoguchi_tablet"] = other_token
    assert client.get(f"/tablet/push/{pushed.pk}/page/1/").status_code == 404
    response = client.post(f"/tablet/push/{pushed.pk}/sign/", json.dumps({"strokes": STROKES, "png": png_data_url()}),
                           content_type="application/json")
    assert response.status_code == 404
    with pytest.raises(PermissionDenied):
        services.signature_submit(tablet=other, push_id=pushed.pk, strokes=STROKES, png=png_data_url())


def test_a_tablet_paired_at_a_is_refused_at_b(world, tenant_b):
    _tablet, token = pair(world)
    pushed = push(world)
    client = Client(HTTP_HOST="testb.localhost")
    client.cookies["madoguchi_tablet"] = token
    assert client.get("/tablet/state/").status_code == 403
    page = client.get("/tablet/")
    assert "ペアリングコード" in page.content.decode() and "no-store" in page["Cache-Control"]
    assert client.get(f"/tablet/push/{pushed.pk}/page/1/").status_code in (403, 404)
    own = Client(HTTP_HOST="testa.localhost")
    own.cookies["madoguchi_tablet"] = token
    assert own.get("/tablet/state/").status_code == 200


def test_the_session_expires_and_a_new_pairing_replaces_the_old_tablet(world):
    from forms_builder.tablet import selectors
    from forms_builder.tablet.models import Tablet

    tablet, token = pair(world)
    assert selectors.tablet_for_token(token=token) == tablet
    Tablet.objects.filter(pk=tablet.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert selectors.tablet_for_token(token=token) is None
    Tablet.objects.filter(pk=tablet.pk).update(expires_at=timezone.now() + timedelta(hours=1))
    newer, newer_token = pair(world)
    assert selectors.tablet_for_token(token=token) is None
    assert selectors.tablet_for_token(token=newer_token) == newer


def test_pairing_sets_a_host_only_http_only_cookie(world):
    from forms_builder.tablet import services

    code, _p = services.pairing_code_create(actor=world["staff"])
    client = Client(HTTP_HOST="testa.localhost")
    response = client.post("/tablet/pair/", {"code": code})
    assert response.status_code == 302
    cookie = response.cookies["madoguchi_tablet"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["domain"]
    assert cookie["path"] == "/tablet/" and "no-store" in response["Cache-Control"]
    state = client.get("/tablet/state/")
    assert state.status_code == 200 and state["X-Tablet-Screen"] == "waiting"
    assert client.get("/tablet/state/?have=waiting").status_code == 204


# ---------------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------------
def test_a_signature_of_zero_strokes_is_refused_and_nothing_is_stored(world):
    from forms_builder.tablet import services
    from forms_builder.tablet.models import Signature

    tablet, _token = pair(world)
    pushed = push(world)
    for strokes in ([], [{"points": []}], "[]", [{"points": [{"x": "a", "y": 1}]}], {"points": []}, None):
        with pytest.raises(ValidationError) as caught:
            services.signature_submit(tablet=tablet, push_id=pushed.pk, strokes=strokes, png=png_data_url())
        assert "signature" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.signature_submit(tablet=tablet, push_id=pushed.pk, strokes=STROKES, png="data:image/png;base64,AAAA")
    assert not Signature.objects.exists()
    pushed.refresh_from_db()
    assert pushed.ended_at is None


def test_a_signature_is_stored_encrypted_with_time_and_tablet_and_embedded_in_the_pdf(world):
    import pdfplumber

    from audit.models import AuditEvent
    from forms_builder.services import decrypt_pdf
    from forms_builder.tablet import selectors, services

    tablet, _token = pair(world)
    pushed = push(world)
    png = png_data_url()
    signature = services.signature_submit(tablet=tablet, push_id=pushed.pk, strokes=json.dumps(STROKES), png=png)
    assert signature.tablet == tablet and signature.signed_at and signature.stroke_count == 1
    assert signature.document_sha256 == pushed.document.sha256
    raw_png = base64.b64decode(png.split(",", 1)[1])
    assert raw_png not in bytes(signature.png_encrypted) and b"points" not in bytes(signature.strokes_encrypted)
    assert services.signature_png(signature) == raw_png
    assert services.signature_strokes(signature)[0]["points"][1] == {"x": 60.0, "y": 40.0, "time": 2}
    assert selectors.live_push(tablet=tablet) is None  # back to waiting
    state = selectors.case_tablet_state(actor=world["staff"], case=world["case"])
    assert state.signed and not state.changed
    document = services.signed_document_build(signature=signature)
    assert document.channel == "signed"
    unsigned = pdfplumber.open(io.BytesIO(decrypt_pdf(pushed.document.pdf_encrypted)))
    signed = pdfplumber.open(io.BytesIO(decrypt_pdf(document.pdf_encrypted)))
    assert len(signed.pages[0].images) == len(unsigned.pages[0].images) + 1
    # the new image lies inside the 届出人の署名 box of the template (mm → pt)
    before = {(round(i["x0"]), round(i["top"])) for i in unsigned.pages[0].images}
    added = [i for i in signed.pages[0].images if (round(i["x0"]), round(i["top"])) not in before]
    boxes = [r.box for p in selectors.current_plans(push=pushed) for r in p.signatures]
    pt = 72 / 25.4
    assert added and boxes
    assert any(x * pt - 1 <= added[0]["x0"] and added[0]["x1"] <= (x + w) * pt + 1
               and y * pt - 1 <= added[0]["top"] and added[0]["bottom"] <= (y + h) * pt + 1
               for x, y, w, h in boxes), (added[0], boxes)
    actions = set(AuditEvent.objects.filter(target_type__in=["tablet_push", "tablet_signature"])
                  .values_list("target_type", "action"))
    assert {("tablet_push", "export"), ("tablet_signature", "create")} <= actions


def test_a_change_after_signing_clears_signed(world):
    from forms_builder.services import case_entries_save
    from forms_builder.tablet import selectors, services

    tablet, _token = pair(world)
    pushed = push(world)
    signature = services.signature_submit(tablet=tablet, push_id=pushed.pk, strokes=STROKES, png=png_data_url())
    assert selectors.case_tablet_state(actor=world["staff"], case=world["case"]).signed
    case_entries_save(actor=world["staff"], counter=world["counter"], case=world["case"],
                      values={("phone", ""): "099-111-2222"})
    state = selectors.case_tablet_state(actor=world["staff"], case=world["case"])
    assert not state.signed and state.changed
    assert selectors.signed_signature(case=world["case"]) is None
    assert services.signed_document_build(signature=signature) is None
    # signing the changed version again makes it 署名済み
    again = push(world)
    services.signature_submit(tablet=tablet, push_id=again.pk, strokes=STROKES, png=png_data_url())
    assert selectors.case_tablet_state(actor=world["staff"], case=world["case"]).signed


def test_a_change_between_push_and_signature_refuses_the_signature(world):
    from forms_builder.services import case_entries_save
    from forms_builder.tablet import selectors, services
    from forms_builder.tablet.models import Signature

    tablet, _token = pair(world)
    pushed = push(world)
    case_entries_save(actor=world["staff"], counter=world["counter"], case=world["case"],
                      values={("phone", ""): "099-111-3333"})
    with pytest.raises(ValidationError) as caught:
        services.signature_submit(tablet=tablet, push_id=pushed.pk, strokes=STROKES, png=png_data_url())
    assert "変更" in " ".join(caught.value.messages)
    assert not Signature.objects.exists()
    assert selectors.live_push(tablet=tablet) is None


def test_recall_and_close_return_the_tablet_to_waiting(world):
    from audit.models import AuditEvent
    from forms_builder.tablet import selectors, services
    from navigation.cases.models import CaseStatus

    tablet, _token = pair(world)
    push(world)
    services.push_recall(actor=world["staff"], case=world["case"])
    assert selectors.live_push(tablet=tablet) is None
    assert AuditEvent.objects.filter(target_type="tablet_push", action="update").exists()
    push(world)
    assert selectors.live_push(tablet=tablet) is not None
    world["case"].status = CaseStatus.CLOSED
    world["case"].save(update_fields=["status"])
    assert selectors.live_push(tablet=tablet) is None


def test_a_correction_request_reaches_the_staff_screen_and_is_audited(world):
    from audit.models import AuditEvent
    from forms_builder.tablet import selectors, services

    tablet, token = pair(world)
    pushed = push(world)
    client = Client(HTTP_HOST="testa.localhost")
    client.cookies["madoguchi_tablet"] = token
    client.get("/tablet/")  # the CSRF cookie, as the page sets it
    response = client.post(f"/tablet/push/{pushed.pk}/correction/", json.dumps({"text": "生年月日が違います"}),
                           content_type="application/json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 200
    state = selectors.case_tablet_state(actor=world["staff"], case=world["case"])
    assert [c.text for c in state.corrections] == ["生年月日が違います"]
    assert AuditEvent.objects.filter(target_type="tablet_correction").exists()
    with pytest.raises(ValidationError):
        services.correction_request(tablet=tablet, push_id=pushed.pk, text="あ" * 501)


def signed_family_case(setup):  # noqa: ANN001, ANN201, F811
    """The family of five's case at a desk, its forms pushed to a paired tablet and signed there: (world, tablet)."""
    from forms_builder.services import case_entries_save
    from forms_builder.tablet import services
    from tenants.accounts.models import Desk
    from tenants.accounts.services import desk_sit

    desk = Desk.objects.create(counter=setup["counter"], name="1番席")
    setup["counter"].staff.add(setup["staff"])
    desk_sit(actor=setup["staff"], desk_id=desk.pk)
    case = open_family_case(setup)
    case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case, values=STAFF_INPUTS)
    world = {**setup, "case": case, "desk": desk}
    tablet, _token = pair(world)
    signed = push(world)
    services.signature_submit(tablet=tablet, push_id=signed.pk, strokes=STROKES, png=png_data_url())
    return world, tablet


def test_the_close_takes_only_the_signed_version(setup):  # noqa: F811
    """A case whose signed document changed after signing is not closed (nothing handed back) until the
    resident signed the changed version; then the one hand-back record per person goes, and the tablet waits."""
    from forms_builder.services import case_entries_save
    from forms_builder.tablet import selectors, services
    from integration.exports.models import ExportRecord
    from navigation.cases.services import case_close, case_procedure_set_status

    world, tablet = signed_family_case(setup)
    case = world["case"]
    case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case,
                      values={("phone", ""): "099-555-0000"})
    for procedure in case.procedures.all():
        case_procedure_set_status(actor=setup["staff"], counter=setup["counter"], procedure=procedure, status="done")
    case.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        case_close(actor=setup["staff"], counter=setup["counter"], case=case)
    assert "署名の後に" in " ".join(caught.value.messages)
    case.refresh_from_db()
    assert case.is_open and not ExportRecord.objects.filter(source="navigation.case").exists()

    again = push(world)
    services.signature_submit(tablet=tablet, push_id=again.pk, strokes=STROKES, png=png_data_url())
    push(world)  # shown on the tablet when the case closes
    case_close(actor=setup["staff"], counter=setup["counter"], case=case)
    assert ExportRecord.objects.filter(source="navigation.case", kind="juki_idou").count() == 5
    assert selectors.live_push(tablet=tablet) is None

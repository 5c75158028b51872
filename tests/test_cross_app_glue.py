"""The registries that join the apps: the card as a forms binding source and as the navigation's card holding,
and the certificate request as a purpose that lets a case without a life event close as 完了."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.test_forms_family import setup  # noqa: F401 - fixture


def test_the_card_is_a_binding_source_and_a_card_holding_provider():
    from forms_builder import sources
    from mynacard.bindings import CardSource, card_holding_provider
    from navigation import cardholding

    assert isinstance(sources.get("card"), CardSource)
    assert {f.name for f in sources.get("card").fields} >= {"name", "address", "birth_date", "sex"}
    assert cardholding.providers() == ["mynacard"] or "mynacard" in cardholding.providers()
    assert cardholding._PROVIDERS["mynacard"] is card_holding_provider


def test_a_card_read_sets_the_holding_the_navigation_reads(in_a):
    from types import SimpleNamespace

    from mynacard.bindings import card_holding_provider
    from mynacard.models import CardHolding
    from navigation.cardholding import card_holding

    person = SimpleNamespace(atena_no="900000555")
    assert card_holding(mirror_status=None, case=None, person=person) == (None, "")  # unknown: the rules ask
    CardHolding.objects.create(atena_no="900000555", confirmed_at=timezone.now())
    assert card_holding_provider(case=None, person=person) is True
    assert card_holding(mirror_status=None, case=None, person=person) == (True, "mynacard")
    assert card_holding(mirror_status=False, case=None, person=person) == (False, "mirror")  # the mirror first


def test_the_card_source_without_a_read_leaves_the_field_blank_with_its_reason(setup):  # noqa: F811
    from forms_builder.sources import NO_DATA, BindingContext, resolve_binding
    from navigation.cases.services import case_open
    from tests.test_search import make_resident

    resident = make_resident(name="カード 無子", kana="カード ナシコ", birth=date(1980, 1, 1))
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[resident.atena_no])
    person = case.persons.get()
    ctx = BindingContext(case=case, persons=[person], doc_persons=[person], person=person, staff=setup["staff"])
    resolved = resolve_binding(ctx, "card.name")
    assert resolved.empty and resolved.reason == NO_DATA


def test_a_certificate_request_is_a_purpose_to_close_without_a_reason(setup):  # noqa: F811
    from forms_builder import services
    from navigation.cases.services import case_close, case_open
    from tests.test_search import make_resident

    resident = make_resident(name="証明 次郎", kana="ショウメイ ジロウ", birth=date(1970, 2, 2))
    other = make_resident(name="相談 三郎", kana="ソウダン サブロウ", birth=date(1971, 3, 3))
    certificate = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[resident.atena_no])
    services.certificate_request_set(actor=setup["staff"], counter=setup["counter"], case=certificate,
                                     template_code="cert_juminhyo", kind="kisai", copies="2", purpose="年金の手続")
    assert case_close(actor=setup["staff"], counter=setup["counter"], case=certificate).status == "closed"
    consultation = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[other.atena_no])
    with pytest.raises(ValidationError):
        case_close(actor=setup["staff"], counter=setup["counter"], case=consultation)


def test_a_form_prints_the_name_read_from_the_card_with_its_mj_character(setup):  # noqa: F811
    """R2.9 end to end on the server side: a verified card read attached to the case fills a form field bound to
    ``card.name``, and the PDF carries 𠮷 (U+20BB7) inside the field's box, not the base 吉."""
    import datetime as dt

    from forms_builder import render as r
    from forms_builder.sources import BindingContext
    from mynacard.models import CardRead, CardReadStatus
    from navigation.cases.services import case_open
    from tenants.accounts.models import Desk
    from tests.test_forms_render import chars_in, version
    from tests.test_search import make_resident

    resident = make_resident(name="吉田　花子", kana="ヨシダ ハナコ", birth=date(1985, 7, 7), sex="2")
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[resident.atena_no])
    person = case.persons.get()
    desk = Desk.objects.create(counter=setup["counter"], name="1番席")
    CardRead.objects.create(desk=desk, staff=setup["staff"], case=case, status=CardReadStatus.ATTACHED,
                            verified=True, reason="verified", name="𠮷田　花子", address="テスト市本町一丁目１番",
                            birth_date=date(1985, 7, 7), sex="2", atena_no=resident.atena_no,
                            purge_after=timezone.now() + dt.timedelta(hours=12))
    fields = [{"type": "text", "key": "name", "label": "氏名", "binding": "card.name", "x": 20, "y": 20, "w": 80,
               "h": 12, "size": 14}]
    ctx = BindingContext(case=case, persons=[person], doc_persons=[person], person=person, staff=setup["staff"],
                         extra={"gaiji": {}})
    plan = r.plan_document(version=version(fields), ctx=ctx)
    pdf, _pages = r.render_pdf([plan])
    text = "".join(c["text"] for c in chars_in(pdf, (20, 20, 80, 12)))
    assert text.replace(" ", "") == "𠮷田　花子".replace(" ", "") or text == "𠮷田花子", text
    assert "吉" not in text


def test_a_handed_out_form_and_its_reprint_name_their_residents(setup):  # noqa: F811
    """"Who took resident X's data" is one query for printed forms too (R6.3, issue 11 finding 3)."""
    from audit.selectors import events_for_resident
    from forms_builder import services
    from navigation.cases.services import case_open
    from tests.test_search import make_resident

    resident = make_resident(name="証明 四郎", kana="ショウメイ シロウ", birth=date(1968, 4, 4))
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[resident.atena_no])
    services.certificate_request_set(actor=setup["staff"], counter=setup["counter"], case=case,
                                     template_code="cert_juminhyo", kind="kisai", copies="1", purpose="年金の手続")
    services.case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case,
                               values={("phone", ""): "099-111-2222"})
    issued = services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case, channel="download",
                                     codes=["cert_juminhyo"])
    services.document_reissue(actor=setup["staff"], document=issued.document, channel="print")
    assert issued.document.persons == [resident.atena_no]
    taken = events_for_resident(atena_no=resident.atena_no).filter(target_type="form_document")
    assert list(taken.values_list("action", flat=True)) == ["export", "print"]


def test_the_card_address_of_a_protected_person_is_never_printed(setup):  # noqa: F811
    import datetime as dt

    from forms_builder.sources import RESTRICTED, BindingContext, resolve_binding
    from mynacard.models import CardRead, CardReadStatus
    from navigation.cases.services import case_open
    from tenants.accounts.models import Desk
    from tests.test_search import make_resident, make_support_measure

    resident = make_resident(name="保護 花子", kana="ホゴ ハナコ", birth=date(1985, 7, 7), sex="2")
    make_support_measure(resident.atena_no)
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[resident.atena_no])
    person = case.persons.get()
    desk = Desk.objects.create(counter=setup["counter"], name="1番席")
    CardRead.objects.create(desk=desk, staff=setup["staff"], case=case, status=CardReadStatus.ATTACHED,
                            verified=True, reason="verified", name="保護　花子", address="テスト市秘密町9番9号",
                            birth_date=date(1985, 7, 7), sex="2", atena_no=resident.atena_no,
                            purge_after=timezone.now() + dt.timedelta(hours=12))
    ctx = BindingContext(case=case, persons=[person], doc_persons=[person], person=person, staff=setup["staff"])
    address = resolve_binding(ctx, "card.address")
    assert address.empty and address.reason == RESTRICTED
    assert resolve_binding(ctx, "card.name").value == "保護　花子"  # the name still prints

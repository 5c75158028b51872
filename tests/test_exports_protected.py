"""A protected (支援措置/DV) address leaves only through the machine channels to the core system (issue 11).

The rule, for every registered export kind and every registered channel:
- the outbox and the PULL API (``to_core_system``) carry the real address of a household under an
  address-restricting support measure: the core system must not have it overwritten by a mask;
- a file for a person carries it only when that person holds 「支援措置の閲覧」; otherwise the address items
  carry the mask, the row says so in the layout's ``_masked`` column/position and the file name ends ``_masked``;
- the protected person's household members are protected too (the address is the household's);
- every hand-over names the residents in it in the audit trail.

``test_every_kind_and_channel`` enumerates the registries: a new kind is exercised through the item metadata
alone, a new channel fails until a driver here proves how it behaves.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from tests.conftest import PASSWORD, in_tenant, staff_client
from tests.test_search import make_resident, make_support_measure

SECRET = "鹿児島市秘密町9-8-7"  # where the protected household lives
SECRET_KATAGAKI = "ひみつ荘101"
PUBLIC = "鹿児島市公開町1-1"  # someone else's address: never masked
MASK = "（支援措置対象のため非表示）"
# Reviewed: the channels that deliver to the municipality's core system and nothing else.
MACHINE_CHANNELS = {"outbox", "api"}
# The test's own idea of an address item (independent of the registry's check): such an item gets the secret.
LOOKS_LIKE_ADDRESS = re.compile(r"address|katagaki|post|zip|jusho|住所|方書|郵便|所在|居所|番地", re.IGNORECASE)


@dataclass
class People:
    protected: object  # under a support measure that restricts the address
    member: object  # same household, not under a measure himself
    other: object  # another household
    linkage: object  # staff member holding 支援措置の閲覧
    admin: object


def _user(username):
    from tenants.accounts.models import User

    return User.objects.get(username=username)


@pytest.fixture
def people(in_a):
    from tenants.accounts.services import staff_create

    protected = make_resident(name="支援 守子", birth=date(1990, 1, 1), address=SECRET, relationship="世帯主")
    member = make_resident(name="支援 同居", birth=date(2015, 5, 5), address=SECRET, relationship="子",
                           household_no=protected.household_no)
    other = make_resident(name="公開 太郎", birth=date(1980, 2, 2), address=PUBLIC)
    make_support_measure(protected.atena_no)
    linkage = staff_create(actor=None, username="renkei", password=PASSWORD, areas=list(in_a.areas),
                           may_view_support_measures=True)
    return People(protected=protected, member=member, other=other, linkage=linkage, admin=_user("admin"))


def _value(item, resident):
    """A valid value for ``item`` about ``resident`` (from the item's metadata only)."""
    if item.identifies == "resident":
        return resident.atena_no
    if item.identifies == "household":
        return resident.household_no
    if item.address or LOOKS_LIKE_ADDRESS.search(item.code) or LOOKS_LIKE_ADDRESS.search(str(item.label)):
        if "katagaki" in item.code or "方書" in str(item.label):
            return SECRET_KATAGAKI if resident.address == SECRET else "公開ビル"
        if "post" in item.code or "郵便" in str(item.label):
            return "8920000"
        return resident.address
    if item.type == "date":
        return "2026-04-01"
    if item.type == "code":
        return item.codes[0][0] if item.codes else "1"
    if item.type == "number":
        return "1"
    return resident.name if "name" in item.code else "テスト"


def _submit_all(kind, people):
    from integration.exports.services import export_record_submit

    return [export_record_submit(kind=kind.code, area=kind.area, source="test", source_id=f"T-{r.atena_no}",
                                 payload={i.code: _value(i, r) for i in kind.items})
            for r in (people.protected, people.member, people.other)]


@dataclass
class Delivered:
    text: str
    filename: str


def _decode(content: bytes, spec) -> str:  # noqa: ANN001
    return content.decode({"cp932": "cp932", "utf-8-sig": "utf-8-sig"}.get(spec.encoding, "utf-8"))


def _download(*, kind, spec, actor, municipality, **_):  # noqa: ANN001,ANN003
    from integration.exports.services import export_download

    today = timezone.localdate()
    exported = export_download(actor=actor, municipality=municipality, kind_code=kind.code, layout_code=spec.code,
                               selection="range", date_from=today, date_to=today)
    return Delivered(_decode(exported.content, spec), exported.filename)


def _outbox(*, kind, spec, municipality, outbox, **_):  # noqa: ANN001,ANN003
    from integration.exports.models import ExportWatermark
    from integration.exports.services import outbox_export

    ExportWatermark.objects.filter(kind=kind.code).update(last_record_id=0)  # the same records, another layout
    batch = outbox_export(municipality=municipality, kind_code=kind.code, layout_code=spec.code)
    path = Path(outbox) / municipality.schema_name / "outbox" / batch.filename
    return Delivered(_decode(path.read_bytes(), spec), batch.filename)


def _api(*, kind, municipality, client, **_):  # noqa: ANN001,ANN003
    from integration.exports.services import api_pull

    result = api_pull(client=client, municipality=municipality, kind_code=kind.code, after=0, limit=1000)
    return Delivered(json.dumps([row.payload for row in result.rows], ensure_ascii=False), "")


# How to take a hand-over through each registered channel. A channel missing here fails the test below.
DRIVERS = {"download": _download, "outbox": _outbox, "api": _api}


@pytest.fixture
def outbox(settings, tmp_path):
    settings.LINKAGE_ROOT = tmp_path
    return tmp_path


def test_every_kind_and_channel_keeps_a_protected_address_to_the_core_system(people, in_a, outbox):
    from integration.exports import channels, registry, selectors
    from tenants.accounts.services import api_client_create

    client = api_client_create(actor=people.admin, name="住民記録システム", scopes=["linkage:read"]).client
    kinds = registry.registered()
    assert {k.code for k in kinds} >= {"juki_idou", "inkan_haishi", "kokuho_shikaku", "jidou_teate_nintei",
                                       "certificate_request"}
    unplanned = [k.code for k in kinds if not in_a.has_area(k.area)]
    assert not unplanned, f"test city A must subscribe to every kind's area to test it: {unplanned}"
    unknown = [c.code for c in channels.registered() if c.code not in DRIVERS]
    assert not unknown, f"new channel(s) {unknown}: add a driver to DRIVERS proving they mask protected addresses"
    checked = 0
    for kind in kinds:
        _submit_all(kind, people)
        carries_address = any(i.address or LOOKS_LIKE_ADDRESS.search(i.code) for i in kind.items)
        for channel in channels.registered():
            specs = selectors.layouts_for(kind=kind) if channel.delivers_file else [None]
            actors = [people.admin, people.linkage] if not channel.to_core_system else [None]
            for spec in specs:
                for actor in actors:
                    where = f"{kind.code} via {channel.code} ({getattr(spec, 'code', 'json')}, {actor})"
                    got = DRIVERS[channel.code](kind=kind, spec=spec, actor=actor, municipality=in_a,
                                                outbox=outbox, client=client)
                    checked += 1
                    if channel.to_core_system:
                        assert channel.code in MACHINE_CHANNELS, f"{where}: an unreviewed channel to the core system"
                        if carries_address:
                            assert SECRET in got.text, f"{where}: the core system must get the real address"
                        assert "_masked" not in got.filename, where
                    elif actor is people.linkage:
                        if carries_address:
                            assert SECRET in got.text, f"{where}: 支援措置の閲覧 gets the real address"
                        assert "_masked" not in got.filename, where
                    else:
                        assert SECRET not in got.text and SECRET_KATAGAKI not in got.text, f"{where}: leaked"
                        if carries_address:
                            assert MASK in got.text, f"{where}: the masked value is missing"
                            assert PUBLIC in got.text, f"{where}: an unprotected address was masked"
                            assert got.filename.endswith(f"_masked.{spec.extension}"), where
    assert checked >= len(kinds) * 3


def test_registering_a_kind_with_an_undeclared_address_item_is_refused():
    from integration.exports.registry import ExportItem, ExportKind, register

    person = ExportItem("atena_no", "宛名番号", identifies="resident")
    for item in (ExportItem("sofu_saki", "送付先住所"), ExportItem("home_address", "自宅"),
                 ExportItem("kyosho", "居所の方書")):
        with pytest.raises(ValueError, match="address=True"):
            register(ExportKind(code="new_kind", label="新種別", area="juki", items=(person, item)))
    with pytest.raises(ValueError, match="identifies"):  # an address whose person cannot be known
        register(ExportKind(code="new_kind", label="新種別", area="juki",
                            items=(ExportItem("address", "住所", address=True),)))


def test_a_new_channel_masks_until_it_is_declared_a_core_system_channel(people):
    from integration.exports import channels, selectors

    channels.register(channels.OutputChannel("mail", "メール", "メール", "職員へメールで送る"))
    try:
        assert not selectors.reveals_protected(channel="mail", actor=people.admin)
        assert selectors.reveals_protected(channel="mail", actor=people.linkage)
    finally:
        channels._channels.pop("mail")
    assert selectors.reveals_protected(channel="outbox", actor=None)
    assert selectors.reveals_protected(channel="api", actor=None)
    assert not selectors.reveals_protected(channel="download", actor=people.admin)  # admins do not by role


def _juki(resident, **extra):
    return {"idou_jiyu": "tenkyo", "idou_date": "2026-04-01", "todokede_date": "2026-04-01",
            "atena_no": resident.atena_no, "household_no": resident.household_no, "name": resident.name,
            "new_address": resident.address, "new_katagaki": SECRET_KATAGAKI if resident.address == SECRET else "",
            "old_address": resident.address, **extra}


def _submit_juki(*residents):
    from integration.exports.services import export_record_submit

    return [export_record_submit(kind="juki_idou", area="juki", source="test", source_id=f"J-{r.atena_no}",
                                 payload=_juki(r)) for r in residents]


def test_standard_csv_marks_each_masked_row_and_the_file(people, in_a):
    from integration.exports.services import export_download

    _submit_juki(people.protected, people.member, people.other)
    exported = export_download(actor=_user("staff1"), municipality=in_a, kind_code="juki_idou")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8"))))
    by_atena = {row["宛名番号"]: row for row in rows}
    for resident in (people.protected, people.member):
        row = by_atena[resident.atena_no]
        assert row["支援措置マスク"] == "1" and row["新住所"] == MASK and row["旧住所"] == MASK
        assert row["新住所方書"] == MASK and row["氏名"] == resident.name  # only the address items are masked
    assert by_atena[people.other.atena_no]["支援措置マスク"] == "0"
    assert by_atena[people.other.atena_no]["新住所"] == PUBLIC
    assert exported.filename.endswith("_masked.csv")
    assert exported.batch.masked_count == 2
    assert any("マスク" in w for w in exported.warnings)


def test_fixed_width_masks_in_place_and_marks_the_declared_position(people, in_a):
    from integration.exports.services import export_download

    _submit_juki(people.protected, people.other)
    exported = export_download(actor=_user("staff1"), municipality=in_a, kind_code="juki_idou",
                               layout_code="legacy_cp932_fixed")
    lines = exported.content.split(b"\r\n")[:-1]
    assert len(lines) == 2 and len(lines[0]) == len(lines[1])  # the mask keeps the record length
    masked, plain = lines
    assert masked.endswith(b"1") and plain.endswith(b"0")  # the declared 1-byte 支援措置マスク position
    assert SECRET.encode("cp932") not in exported.content and MASK.encode("cp932") in masked
    assert PUBLIC.encode("cp932") in plain
    assert exported.filename.endswith("_masked.txt")


def test_household_member_and_a_measure_that_starts_after_submission_are_masked(people, in_a):
    """The member is not under a measure himself; the other resident's measure starts after his record was
    received: both files mask, because hand-overs check the measures again."""
    from integration.exports.services import export_download

    member, other = _submit_juki(people.member, people.other)
    assert member.protected and not other.protected
    make_support_measure(people.other.atena_no, start=timezone.localdate())
    exported = export_download(actor=_user("staff1"), municipality=in_a, kind_code="juki_idou")
    text = exported.content.decode()
    assert SECRET not in text and PUBLIC not in text and text.count(MASK) >= 2


@pytest.mark.parametrize("day", ["first", "last"])
def test_boundary_days_of_a_measure_mask_the_export(people, in_a, day):
    """On the measure's first and on its last day the file masks; the day after the end it does not."""
    from integration.exports.services import export_download

    today = timezone.localdate()
    person = make_resident(name="境界 日子", address="鹿児島市境界町2-2")
    if day == "first":
        make_support_measure(person.atena_no, start=today)
    else:
        make_support_measure(person.atena_no, start=today - timedelta(days=30), end=today)
    _submit_juki(person)
    exported = export_download(actor=_user("staff1"), municipality=in_a, kind_code="juki_idou",
                               selection="range", date_from=today, date_to=today)
    assert "鹿児島市境界町2-2" not in exported.content.decode() and exported.filename.endswith("_masked.csv")


def test_a_measure_that_ended_yesterday_or_starts_tomorrow_does_not_mask(in_a):
    from integration.exports.services import export_download

    today = timezone.localdate()
    ended = make_resident(name="終了 済子", address="鹿児島市終了町3-3")
    future = make_resident(name="開始 前子", address="鹿児島市将来町4-4")
    make_support_measure(ended.atena_no, start=today - timedelta(days=30), end=today - timedelta(days=1))
    make_support_measure(future.atena_no, start=today + timedelta(days=1))
    _submit_juki(ended, future)
    exported = export_download(actor=_user("staff1"), municipality=in_a, kind_code="juki_idou")
    text = exported.content.decode()
    assert "鹿児島市終了町3-3" in text and "鹿児島市将来町4-4" in text and MASK not in text
    assert not exported.filename.endswith("_masked.csv")
    from audit.models import AuditEvent

    event = AuditEvent.objects.get(target_type="export_batch", target_id=str(exported.batch.pk))
    assert event.details["protected_address"] == "none" and event.details["protected_residents"] == []
    assert event.residents == [ended.atena_no, future.atena_no]


def test_re_download_by_date_range_obeys_the_same_rule(people, in_a):
    from integration.exports.services import export_download

    _submit_juki(people.protected)
    first = export_download(actor=people.linkage, municipality=in_a, kind_code="juki_idou")  # pending, in clear
    assert SECRET in first.content.decode()
    today = timezone.localdate()
    again = export_download(actor=_user("staff1"), municipality=in_a, kind_code="juki_idou", selection="range",
                            date_from=today - timedelta(days=3), date_to=today)
    assert SECRET not in again.content.decode() and again.filename.endswith("_masked.csv")


def test_download_view_serves_the_masked_file_and_the_api_the_real_one(people, tenant_a):
    from django.test import Client

    from tenants.accounts.services import api_client_create

    with in_tenant(tenant_a):
        _submit_juki(people.protected)
        token = api_client_create(actor=people.admin, name="基幹系", scopes=["linkage:read"]).token
    response = staff_client(tenant_a, "staff1").post("/linkage/exports/juki_idou/download/",
                                                     {"layout": "standard", "selection": "pending"})
    assert response.status_code == 200, response.content[:500]
    assert "_masked.csv" in response["Content-Disposition"]
    assert SECRET not in response.content.decode() and MASK in response.content.decode()
    pulled = Client(HTTP_HOST=f"{tenant_a.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}").get(
        "/api/v1/integration/exports/juki_idou/", {"after": 0})
    assert pulled.status_code == 200
    assert pulled.json()["records"][0]["payload"]["new_address"] == SECRET


def test_every_hand_over_names_its_residents_in_the_audit_trail(people, in_a, outbox):
    from audit.selectors import events_for_resident
    from integration.exports.services import export_download, outbox_export

    _submit_juki(people.protected, people.member, people.other)
    masked = export_download(actor=_user("staff1"), municipality=in_a, kind_code="juki_idou", selection="range",
                             date_from=timezone.localdate(), date_to=timezone.localdate())
    clear = outbox_export(municipality=in_a, kind_code="juki_idou")
    for resident in (people.protected, people.member, people.other):
        batches = [e for e in events_for_resident(atena_no=resident.atena_no) if e.target_type == "export_batch"]
        assert {e.target_id for e in batches} == {str(masked.batch.pk), str(clear.pk)}
    staff_event, outbox_event = (e for e in events_for_resident(atena_no=people.protected.atena_no)
                                 if e.target_type == "export_batch")
    assert staff_event.actor == "staff1" and staff_event.details["protected_address"] == "masked"
    assert outbox_event.details["protected_address"] == "revealed"
    assert set(outbox_event.details["protected_residents"]) == {people.protected.atena_no, people.member.atena_no}


# ---------------------------------------------------------------------------------------------
# The permission 支援措置の閲覧
# ---------------------------------------------------------------------------------------------
def test_only_an_admin_grants_the_permission_and_it_is_audited(in_a):
    from audit.models import AuditEvent
    from tenants.accounts.services import staff_update

    staff1, admin = _user("staff1"), _user("admin")
    assert not staff1.can_view_support_measures and not admin.can_view_support_measures
    fields = {"display_name": staff1.display_name, "role": staff1.role, "department": staff1.department,
              "areas": staff1.areas, "is_active": True}
    with pytest.raises(PermissionDenied):
        staff_update(actor=_user("staff2"), user=staff1, may_view_support_measures=True, **fields)
    staff_update(actor=admin, user=staff1, may_view_support_measures=True, **fields)
    staff1.refresh_from_db()
    assert staff1.can_view_support_measures
    event = AuditEvent.objects.filter(target_type="user", target_id=str(staff1.pk), action="update").last()
    assert event.details["before"]["may_view_support_measures"] is False
    assert event.details["after"]["may_view_support_measures"] is True
    staff_update(actor=admin, user=staff1, **{**fields, "is_active": False})
    staff1.refresh_from_db()
    assert staff1.may_view_support_measures and not staff1.can_view_support_measures  # inactive: nothing


def test_staff_edit_screen_grants_the_permission(tenant_a):
    with in_tenant(tenant_a):
        staff1 = _user("staff1")
        data = {"action": "save", "display_name": staff1.display_name, "role": staff1.role,
                "areas": staff1.areas, "is_active": "on", "may_view_support_measures": "on"}
    admin = staff_client(tenant_a, "admin")
    page = admin.get(f"/accounts/admin/staff/{staff1.pk}/").content.decode()
    assert "支援措置の閲覧" in page
    assert admin.post(f"/accounts/admin/staff/{staff1.pk}/", data).status_code == 302
    with in_tenant(tenant_a):
        assert _user("staff1").may_view_support_measures

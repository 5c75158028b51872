"""Reader stations and the server side: signed non-replayable requests, municipality and desk isolation,
card reads into the right desk's case, mirror matching, PIN confirmation, 個人番号 handling, purge."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from mynacard.credentials import StationCredential
from tests.cardstack import make_resident, raw_read, read_payload
from tests.conftest import CITY_A, CITY_B, in_tenant, staff_client

STATUS = "/mynacard/station/status/"
READS = "/mynacard/station/reads/"


def _setup_desks():
    """Two counters of the current municipality, one desk each, staff1 seated at A, staff2 at B."""
    from tenants.accounts.models import Counter, Desk, User
    from tenants.accounts.services import desk_sit

    counter_a, counter_b = Counter.objects.order_by("sort_order", "name")[:2]
    desk_a = Desk.objects.create(counter=counter_a, name="1番席")
    desk_b = Desk.objects.create(counter=counter_b, name="1番席")
    staff1, staff2 = User.objects.get(username="staff1"), User.objects.get(username="staff2")
    counter_a.staff.add(staff1)  # counters are per staff member (their department's or assigned)
    counter_b.staff.add(staff2)
    desk_sit(actor=staff1, desk_id=desk_a.pk)
    desk_sit(actor=staff2, desk_id=desk_b.pk)
    return counter_a, counter_b, desk_a, desk_b, staff1, staff2


def _register(desk, name="リーダー"):  # noqa: ANN001
    from mynacard.services import station_register
    from tenants.accounts.models import User

    admin = User.objects.get(username="admin")
    issued = station_register(actor=admin, desk_id=desk.pk, name=name, server=f"http://{CITY_A.host}")
    return issued.station, StationCredential.loads(issued.credential)


def _post(client: Client, credential: StationCredential, path: str, payload: dict, *, host: str, **sign) -> object:
    body = json.dumps(payload).encode()
    headers = credential.sign_headers(method="POST", host=host, path=path, body=body, **sign)
    return client.post(path, data=body, content_type="application/json", HTTP_HOST=host,
                       **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})


def _open_case(staff, counter, atena_no=None):  # noqa: ANN001
    from navigation.cases.services import case_open

    if atena_no:
        return case_open(actor=staff, counter=counter, atena_nos=[atena_no])
    return case_open(actor=staff, counter=counter, newcomers=[{"name": "来庁 者", "name_kana": "ライチョウ シャ",
                                                                "birth_date": date(1990, 1, 1), "sex": "1"}])


def test_only_a_municipal_admin_registers_a_station_and_the_credential_is_shown_once(in_a):
    from django.core.exceptions import PermissionDenied

    from mynacard.models import ReaderStation
    from mynacard.services import station_register
    from tenants.accounts.models import User

    _ca, _cb, desk_a, _db, staff1, _s2 = _setup_desks()
    with pytest.raises(PermissionDenied):
        station_register(actor=staff1, desk_id=desk_a.pk, name="x", server="http://x")
    station, credential = _register(desk_a)
    stored = ReaderStation.objects.get(pk=station.pk)
    assert bytes(stored.public_key) != credential.private_key and len(bytes(stored.public_key)) == 32
    admin = staff_client(in_a, "admin")
    page = admin.get("/mynacard/admin/stations/")
    assert page.status_code == 200 and credential.key_id not in page.content.decode()
    created = admin.post("/mynacard/admin/stations/", {"action": "station", "station-desk": desk_a.pk,
                                                       "station-name": "2台目"})
    assert "今回だけ表示" in created.content.decode() and created["Cache-Control"] == "no-store"
    assert User.objects.get(username="staff1")  # unchanged


def test_signed_status_is_accepted_and_a_replay_or_a_changed_body_is_refused(in_a):
    from mynacard.models import ReaderStation

    _ca, _cb, desk_a, _db, _s1, _s2 = _setup_desks()
    station, credential = _register(desk_a)
    client = Client()
    payload = {"state": "idle", "reader": True, "card": False}
    body = json.dumps(payload).encode()
    headers = credential.sign_headers(method="POST", host=CITY_A.host, path=STATUS, body=body)
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    first = client.post(STATUS, data=body, content_type="application/json", HTTP_HOST=CITY_A.host, **meta)
    assert first.status_code == 200, first.content
    assert first.json() == {"confirmed": False, "challenge": None, "with_my_number": False}
    assert ReaderStation.objects.get(pk=station.pk).status["reader"] is True
    replay = client.post(STATUS, data=body, content_type="application/json", HTTP_HOST=CITY_A.host, **meta)
    assert replay.status_code == 401 and "二度" in replay.json()["error"]
    # Same signature headers with another body (fresh nonce so the replay check is not what refuses it).
    forged = dict(meta, HTTP_X_STATION_NONCE="f" * 32)
    changed = client.post(STATUS, data=json.dumps({**payload, "card": True}), content_type="application/json",
                          HTTP_HOST=CITY_A.host, **forged)
    assert changed.status_code == 401 and "署名が正しくありません" in changed.json()["error"]
    stale = _post(client, credential, STATUS, payload, host=CITY_A.host, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401 and "時刻" in stale.json()["error"]
    unsigned = client.post(STATUS, data=body, content_type="application/json", HTTP_HOST=CITY_A.host)
    assert unsigned.status_code == 401
    revoked_station = ReaderStation.objects.get(pk=station.pk)
    revoked_station.is_active = False
    revoked_station.save()
    assert _post(client, credential, STATUS, payload, host=CITY_A.host).status_code == 401


def test_a_station_credential_of_municipality_a_is_refused_at_b(tenant_a, tenant_b):
    """A station with the same id and the same key id exists in both municipalities; A's key works only at A."""
    with in_tenant(tenant_a):
        _ca, _cb, desk_a, _db, _s1, _s2 = _setup_desks()
        station_a, credential_a = _register(desk_a)
    with in_tenant(tenant_b):
        from mynacard.models import ReaderStation
        from tenants.accounts.models import Counter, Desk

        desk_b = Desk.objects.create(counter=Counter.objects.first(), name="1番席")
        _station_b, _credential_b = _register(desk_b)
        # Same primary key and key id as A's station, but B's own key pair.
        ReaderStation.objects.filter(pk=_station_b.pk).update(key_id=credential_a.key_id)
        assert ReaderStation.objects.filter(key_id=credential_a.key_id).exists()
    client = Client()
    payload = {"state": "idle", "reader": True, "card": False}
    at_b = _post(client, credential_a, STATUS, payload, host=CITY_B.host)
    assert at_b.status_code == 401 and "署名" in at_b.json()["error"]
    # Signed for A's host, sent to B: the host is part of the signature.
    body = json.dumps(payload).encode()
    headers = credential_a.sign_headers(method="POST", host=CITY_A.host, path=STATUS, body=body)
    moved = client.post(STATUS, data=body, content_type="application/json", HTTP_HOST=CITY_B.host,
                        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    assert moved.status_code == 401
    with in_tenant(tenant_b):
        assert ReaderStation.objects.get(key_id=credential_a.key_id).last_seen_at is None
    assert _post(client, credential_a, STATUS, payload, host=CITY_A.host).status_code == 200


def test_a_card_read_fills_the_case_open_at_the_stations_desk_and_never_another_desks(in_a, card_authority,
                                                                                        card_settings):
    from mynacard.models import CardRead, CardReadStatus
    from mynacard.selectors import card_binding_values, card_holders

    counter_a, counter_b, desk_a, desk_b, staff1, staff2 = _setup_desks()
    # Moved since the card was issued: the card still carries the old address.
    atena = make_resident(number="10000001", name="𠮷田　髙子", kana="ヨシダ タカコ", birth=date(1992, 3, 15), sex="2",
                          address="テストA市本町一丁目１番")
    case_a = _open_case(staff1, counter_a)
    case_b = _open_case(staff2, counter_b)
    station, credential = _register(desk_a)
    raw = raw_read(card_authority, name="𠮷田　髙子", address="東京都千代田区霞が関２丁目１番１号",
                   birth_date="19920315", sex="2")
    # The body names desk B and case B: ignored, the desk comes from the credential.
    response = _post(Client(), credential, READS, {**read_payload(raw), "desk": desk_b.pk, "case": case_b.pk},
                     host=CITY_A.host)
    assert response.status_code == 200, response.content
    assert response.json()["verified"] is True and response.json()["status"] == "attached"
    read = CardRead.objects.get()
    assert (read.case_id, read.desk_id, read.status) == (case_a.pk, desk_a.pk, CardReadStatus.ATTACHED)
    assert not CardRead.objects.filter(case=case_b).exists()
    assert read.atena_no == atena
    assert [d["field"] for d in read.differences] == ["address"]
    assert case_a.persons.filter(atena_no=atena).exists()  # the matched resident joined the case
    assert card_holders(atena_nos=[atena, "999"]) == {atena}
    values = card_binding_values(actor=staff1, case_id=case_a.pk)
    assert values["card.name"] == "𠮷田　髙子" and values["card.name_kana"] == "ヨシダ タカコ"
    assert values["card.birth_date"] == date(1992, 3, 15) and values["card.sex"] == "2"
    assert card_binding_values(actor=staff2, case_id=case_b.pk) == {}
    # The staff screen fragment shows the card name with its MJ character and the old-address warning.
    panel = staff_client(in_a, "staff1", counter=counter_a).get(f"/mynacard/case/{case_a.pk}/panel/")
    text = panel.content.decode()
    assert "𠮷田　髙子" in text and "住所が古い可能性" in text


def test_with_several_open_cases_the_staff_member_chooses(in_a, card_authority, card_settings):
    from mynacard.models import CardRead, CardReadStatus

    counter_a, _cb, desk_a, _db, staff1, _s2 = _setup_desks()
    first, second = _open_case(staff1, counter_a), _open_case(staff1, counter_a)
    _station, credential = _register(desk_a)
    response = _post(Client(), credential, READS, read_payload(raw_read(card_authority)), host=CITY_A.host)
    assert response.json()["status"] == "pending"
    read = CardRead.objects.get()
    assert read.case_id is None
    client = staff_client(in_a, "staff1", counter=counter_a)
    panel = client.get("/mynacard/desk/panel/").content.decode()
    assert "反映する受付を選んでください" in panel and first.label in panel and second.label in panel
    # Another staff member cannot attach it, and no case outside this desk can be chosen.
    other = staff_client(in_a, "staff2")
    other.post(f"/mynacard/reads/{read.pk}/attach/", {"case": second.pk})
    assert CardRead.objects.get().case_id is None
    client.post(f"/mynacard/reads/{read.pk}/attach/", {"case": second.pk})
    read.refresh_from_db()
    assert (read.case_id, read.status) == (second.pk, CardReadStatus.ATTACHED)


def test_tampered_data_posted_by_a_station_is_refused_and_nothing_personal_is_kept(in_a, card_authority,
                                                                                     card_settings):
    from mynacard.models import CardHolding, CardRead

    counter_a, _cb, desk_a, _db, staff1, _s2 = _setup_desks()
    _open_case(staff1, counter_a)
    _station, credential = _register(desk_a)
    response = _post(Client(), credential, READS, read_payload(raw_read(card_authority, tamper="rehash")),
                     host=CITY_A.host)
    assert response.json() == {"verified": False, "reason": "tampered",
                               "message": "カードのデータが改ざんされています（署名と一致しません）。"}
    read = CardRead.objects.get()
    assert (read.name, read.address, read.case_id, read.my_number_encrypted) == ("", "", None, None)
    assert not CardHolding.objects.exists()
    bad = _post(Client(), credential, READS, {"basic4": "###"}, host=CITY_A.host)
    assert bad.status_code == 400 and "basic4" in bad.json()["error"]


def test_my_number_is_stored_encrypted_and_read_only_through_the_audited_path(in_a, card_authority,
                                                                                card_settings):
    from django.core.exceptions import PermissionDenied
    from django.db import connection

    from audit.models import AuditEvent
    from mynacard.models import CardRead
    from mynacard.selectors import card_my_number
    from mynacard.services import my_number_request

    counter_a, _cb, desk_a, _db, staff1, staff2 = _setup_desks()
    _open_case(staff1, counter_a)
    station, credential = _register(desk_a)
    raw = raw_read(card_authority, my_number="234567890121", with_my_number=True)
    # Nobody asked for the 個人番号: a station sending it anyway gets it dropped, not stored.
    assert _post(Client(), credential, READS, read_payload(raw), host=CITY_A.host).json()["verified"]
    assert CardRead.objects.get().my_number_encrypted is None
    CardRead.objects.all().delete()
    with pytest.raises(PermissionDenied):  # only the staff member seated at the station's desk asks
        my_number_request(actor=staff2, station_id=station.pk, purpose="転入届")
    status = _post(Client(), credential, STATUS, {"state": "idle"}, host=CITY_A.host).json()
    assert status["with_my_number"] is False
    staff_client(in_a, "staff1", counter=counter_a).post(f"/mynacard/stations/{station.pk}/my-number/",
                                                         {"purpose": "転入届"})
    assert _post(Client(), credential, STATUS, {"state": "idle"}, host=CITY_A.host).json()["with_my_number"]
    assert _post(Client(), credential, READS, read_payload(raw), host=CITY_A.host).json()["verified"]
    assert _post(Client(), credential, STATUS, {"state": "idle"}, host=CITY_A.host).json()["with_my_number"] is False
    read = CardRead.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT my_number_encrypted::text, row_to_json(r)::text FROM mynacard_cardread r")
        stored, row = cursor.fetchone()
    assert "234567890121" not in row and b"234567890121" not in bytes(read.my_number_encrypted)
    with pytest.raises(PermissionDenied):
        card_my_number(actor=staff1, card_read_id=read.pk, purpose="")
    with pytest.raises(PermissionDenied):
        card_my_number(actor=staff2, card_read_id=read.pk, purpose="転入届")
    assert card_my_number(actor=staff1, card_read_id=read.pk, purpose="転入届") == "234567890121"
    event = AuditEvent.objects.filter(target_type="my_number").get()
    assert event.details["purpose"] == "転入届" and "234567890121" not in json.dumps(event.details)
    shown = staff_client(in_a, "staff1", counter=counter_a).post(f"/mynacard/reads/{read.pk}/my-number/",
                                                                  {"purpose": "転入届"})
    assert "234567890121" in shown.content.decode() and shown["Cache-Control"] == "no-store"
    refused = staff_client(in_a, "staff2").post(f"/mynacard/reads/{read.pk}/my-number/", {"purpose": "転入届"})
    assert refused.status_code == 403 and "234567890121" not in refused.content.decode()
    assert AuditEvent.objects.filter(target_type="my_number").count() == 2


def test_one_try_left_waits_for_the_seated_staff_members_confirmation(in_a):
    from mynacard.models import ReaderStation

    counter_a, _cb, desk_a, _db, _s1, _s2 = _setup_desks()
    station, credential = _register(desk_a)
    client = Client()
    asking = {"state": "error", "reader": True, "card": True, "needs_confirmation": True,
              "error": {"code": "confirm_last_try", "message": "暗証番号の残り回数が1回です。"}}
    assert _post(client, credential, STATUS, asking, host=CITY_A.host).json()["confirmed"] is False
    staff = staff_client(in_a, "staff1", counter=counter_a)
    assert "最後の1回の照合を許可する" in staff.get("/mynacard/desk/panel/").content.decode()
    # Only the staff member seated at the station's desk may confirm.
    staff_client(in_a, "staff2").post(f"/mynacard/stations/{station.pk}/confirm/")
    assert ReaderStation.objects.get(pk=station.pk).confirmed_at is None
    assert _post(client, credential, STATUS, asking, host=CITY_A.host).json()["confirmed"] is False
    staff.post(f"/mynacard/stations/{station.pk}/confirm/")
    assert _post(client, credential, STATUS, asking, host=CITY_A.host).json()["confirmed"] is True
    # Delivered once: the next round needs a new confirmation.
    assert _post(client, credential, STATUS, asking, host=CITY_A.host).json()["confirmed"] is False


def test_card_data_is_purged_after_its_retention(in_a, card_authority, card_settings):
    from mynacard.models import CardRead
    from mynacard.services import card_reads_purge

    counter_a, _cb, desk_a, _db, staff1, _s2 = _setup_desks()
    _open_case(staff1, counter_a)
    _station, credential = _register(desk_a)
    _post(Client(), credential, READS, read_payload(raw_read(card_authority)), host=CITY_A.host)
    assert card_reads_purge() == 0
    assert card_reads_purge(now=timezone.now() + timedelta(hours=card_settings.MYNACARD_RETENTION_HOURS + 1)) >= 1
    assert not CardRead.objects.exists()


def test_production_settings_never_trust_the_software_cards_test_keys(card_authority):
    import subprocess
    import sys

    from mynacard.trust import TrustConfigurationError, load_trust_anchors

    with pytest.raises(TrustConfigurationError):
        load_trust_anchors(card_authority / "anchors", allow_test=False)
    production = load_trust_anchors("mynacard/trust/production", allow_test=False)
    assert list(production.kenhojo_keys) == [b"5000033\x08\x05001\x00\x00\x00\x00"]
    env = {"DJANGO_SECRET_KEY": "x" * 60, "MADOGUCHI_KEK": "ZGV2LW9ubHkta2VrLWRvLW5vdC11c2UtaW4tcHJvZCE=",
           "MADOGUCHI_AUDIT_SIGNING_KEY": "ZGV2LW9ubHktYXVkaXQtc2lnbmluZy1zZWVkLTMyYiE=", "PATH": "/usr/bin:/bin"}
    code = "import madoguchi.settings.production as p; print(p.MYNACARD_ALLOW_TEST_ANCHORS, p.MYNACARD_TRUST_DIR)"
    ok = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("False ") and ok.stdout.strip().endswith("trust/production")
    refused = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**env, "MADOGUCHI_CARD_TRUST_DIR": str(card_authority / "anchors")})
    assert refused.returncode != 0 and "TEST keys" in refused.stderr


def test_the_make_run_card_demo_command_is_idempotent(in_a, tmp_path):
    from django.core.management import call_command

    from mynacard.credentials import StationCredential
    from mynacard.models import ReaderStation
    from tenants.accounts.models import Desk

    target = tmp_path / "station.json"
    for _ in range(2):
        call_command("mynacard_demo", tenant=CITY_A.slug, server=f"http://{CITY_A.host}:8000",
                     credential=str(target))
    credential = StationCredential.loads(target.read_text())
    active = ReaderStation.objects.get(is_active=True)
    assert active.key_id == credential.key_id and ReaderStation.objects.count() == 2
    assert Desk.objects.get(pk=active.desk_id).staff.username == "staff1"
    response = _post(Client(), credential, STATUS, {"state": "idle"}, host=f"{CITY_A.host}:8000")
    assert response.status_code == 200


def test_card_data_of_municipality_a_is_invisible_at_b_under_the_same_ids(tenant_a, tenant_b, card_authority,
                                                                        card_settings):
    """A case, a desk, a station and a card read with the same ids in both municipalities: each sees its own."""
    from django.db import connection

    from mynacard.models import CardRead
    from mynacard.selectors import card_binding_values, card_holders

    ids = {}
    for city, tenant, name in ((CITY_A, tenant_a, "山田　太郎"), (CITY_B, tenant_b, "佐藤　花子")):
        with in_tenant(tenant):
            from madoguchi.dbroles import owner_connection
            from tenants.accounts.models import Counter, Desk, User

            schema = tenant.schema_name
            # The same ids in both municipalities. Sequences belong to the owner role (the application role
            # may only use them), so the owner sets them; setval is not transactional anyway.
            with owner_connection(), connection.cursor() as cursor:
                for table in ("navigation_cases_case", "mynacard_cardread", "mynacard_readerstation",
                              "accounts_desk"):
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{schema}\".{table}', 'id'), 770000)")
            from tenants.accounts.services import desk_sit

            counter = Counter.objects.order_by("sort_order", "name").first()
            desk = Desk.objects.create(counter=counter, name="1番席")
            staff = User.objects.get(username="staff1")
            counter.staff.add(staff)
            desk_sit(actor=staff, desk_id=desk.pk)
            atena = make_resident(number="10000001", name=name, kana="テスト", birth=date(1980, 1, 1), sex="1",
                                  address="東京都千代田区霞が関１丁目２番３号")
            case = _open_case(staff, counter)
            station, credential = _register(desk)
            raw = raw_read(card_authority, name=name)
            assert _post(Client(), credential, READS, read_payload(raw), host=city.host).json()["verified"]
            read = CardRead.objects.get()
            ids[city.slug] = (case.pk, read.pk, atena, counter)
    assert ids[CITY_A.slug][:3] == ids[CITY_B.slug][:3]  # same case id, card read id and 宛名番号 in both
    case_id = ids[CITY_A.slug][0]
    with in_tenant(tenant_b):
        from tenants.accounts.models import User

        values = card_binding_values(actor=User.objects.get(username="staff1"), case_id=case_id)
        assert values["card.name"] == "佐藤　花子"
        assert card_holders(atena_nos=[ids[CITY_B.slug][2]]) == {ids[CITY_B.slug][2]}
    page = staff_client(tenant_b, "staff1", counter=ids[CITY_B.slug][3]).get(f"/mynacard/case/{case_id}/panel/")
    text = page.content.decode()
    assert "佐藤　花子" in text and "山田　太郎" not in text
    # A's staff session is not valid at B at all.
    a_client = staff_client(tenant_a, "staff1", counter=ids[CITY_A.slug][3])
    foreign = a_client.get(f"/mynacard/case/{case_id}/panel/", HTTP_HOST=CITY_B.host)
    assert foreign.status_code in (302, 403) and "山田" not in foreign.content.decode()


def test_the_card_panel_withholds_a_protected_residents_address_unless_staff_may_view_support_measures(
        in_a, card_authority, card_settings):
    """A DV victim presents her own card, but the staff screen can be seen at the counter: the card's address
    follows the mirror's 支援措置 rule (shown only with 「支援措置の閲覧」); the mirror's protected address is
    never compared into a stored difference."""
    from tenants.accounts.models import User
    from tests.test_search import make_support_measure

    counter_a, _cb, desk_a, _db, staff1, _s2 = _setup_desks()
    atena = make_resident(number="10000002", name="保護　花子", kana="ホゴ ハナコ", birth=date(1985, 6, 1), sex="2",
                          address="テストA市秘匿町三丁目３番")
    make_support_measure(atena)
    case = _open_case(staff1, counter_a)
    _station, credential = _register(desk_a)
    raw = raw_read(card_authority, name="保護　花子", address="東京都千代田区霞が関２丁目１番１号",
                   birth_date="19850601", sex="2")
    assert _post(Client(), credential, READS, read_payload(raw), host=CITY_A.host).status_code == 200
    url = f"/mynacard/case/{case.pk}/panel/?live=1"
    text = staff_client(in_a, "staff1", counter=counter_a).get(url).content.decode()
    assert "保護　花子" in text
    assert "霞が関" not in text and "秘匿町" not in text and "支援措置のため表示しません" in text
    User.objects.filter(pk=staff1.pk).update(may_view_support_measures=True)
    allowed = staff_client(in_a, "staff1", counter=counter_a).get(url).content.decode()
    assert "霞が関" in allowed

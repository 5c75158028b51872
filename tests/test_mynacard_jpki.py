"""JPKI with the 利用者証明用電子証明書, through the real PC/SC stack: the software card signs the server's
challenge; the server checks the chain against the configured JPKI CA, the CRL and the signature.
Staff second factor: register one's own card, then password + card; another person's card or a revoked
certificate fails. Resident identity proof at the counter."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import pytest
from cryptography import x509
from django.test import Client

from mynacard.errors import WrongPinError
from mynacard.reader import CardReader
from tests.conftest import CITY_A, staff_client

JPKI = "/mynacard/station/jpki/"


@pytest.fixture
def crl_restored(card_authority):
    path = card_authority / "anchors" / "crl" / "auth.crl"
    saved = path.read_bytes()
    yield path
    path.write_bytes(saved)


def _station(desk):  # noqa: ANN001
    from mynacard.credentials import StationCredential
    from mynacard.services import station_register
    from tenants.accounts.models import User

    issued = station_register(actor=User.objects.get(username="admin"), desk_id=desk.pk, name="リーダー",
                              server=f"http://{CITY_A.host}")
    return issued.station, StationCredential.loads(issued.credential)


def _desk(staff_username="staff1"):  # noqa: ANN001
    from tenants.accounts.models import Counter, Desk, User
    from tenants.accounts.services import desk_sit

    counter = Counter.objects.order_by("sort_order", "name").first()
    desk = Desk.objects.create(counter=counter, name="1番席")
    counter.staff.add(User.objects.get(username=staff_username))  # counters are per staff member
    desk_sit(actor=User.objects.get(username=staff_username), desk_id=desk.pk)
    return counter, desk


def _card_answers(card, challenge, *, pin: str) -> dict:  # noqa: ANN001
    """What the station does: read the auth certificate, have the card sign the challenge (real APDUs)."""
    from mynacard.services import challenge_message

    digest = hashlib.sha256(challenge_message(challenge, CITY_A.host)).digest()
    with CardReader(card.reader_name).wait_for_card() as session:
        certificate = session.read_jpki_auth_certificate()
        signature = session.jpki_auth_sign(pin=pin, digest=digest)
        assert all(pin.encode().hex().upper() not in line for line in session.log.lines())
    return {"challenge": challenge.pk, "certificate": base64.b64encode(certificate).decode(),
            "signature": base64.b64encode(signature).decode()}


def _post(credential, payload: dict) -> dict:  # noqa: ANN001
    body = json.dumps(payload).encode()
    headers = credential.sign_headers(method="POST", host=CITY_A.host, path=JPKI, body=body)
    response = Client().post(JPKI, data=body, content_type="application/json", HTTP_HOST=CITY_A.host,
                             **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    assert response.status_code == 200, response.content
    return response.json()


def _register_own_card(user, station, credential, card, pin):  # noqa: ANN001
    from mynacard.models import JpkiPurpose
    from mynacard.services import jpki_challenge_create

    challenge = jpki_challenge_create(actor=user, station_id=station.pk, purpose=JpkiPurpose.STAFF_REGISTER)
    return _post(credential, _card_answers(card, challenge, pin=pin))


def _login_with_card(client, station, credential, card, pin):  # noqa: ANN001
    from mynacard.models import JpkiChallenge

    page = client.post("/mynacard/card-login/", {"station": station.pk})
    assert page.status_code == 200 and "端末にカードを置き" in page.content.decode()
    challenge = JpkiChallenge.objects.latest("created_at")
    answer = _post(credential, _card_answers(card, challenge, pin=pin))
    return answer, client.get("/mynacard/card-login/status/")


def test_staff_login_with_password_and_a_registered_card(in_a, software_card, card_settings):
    from mynacard.models import StaffCardCertificate
    from mynacard.services import card_login_policy_set
    from tenants.accounts.models import User

    _counter, desk = _desk()
    station, credential = _station(desk)
    staff1, admin = User.objects.get(username="staff1"), User.objects.get(username="admin")
    software_card.load(my_number="123456789018", jpki_pin="5678")
    answer = _register_own_card(staff1, station, credential, software_card, "5678")
    assert answer == {"ok": True, "reason": "ok", "message": "電子証明書と署名を確認しました。"}
    registered = StaffCardCertificate.objects.get(user=staff1)
    assert registered.is_active and registered.serial == str(12345678901 * 10 + 7)
    card_login_policy_set(actor=admin, roles=["staff"])
    client = staff_client(in_a, "staff1")
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/mynacard/card-login/"
    answer, status = _login_with_card(client, station, credential, software_card, "5678")
    assert answer["ok"] is True
    assert status.status_code == 204 and status["HX-Redirect"] == "/"
    assert client.get("/").status_code == 200
    # The admin's role was not chosen: no card step.
    assert staff_client(in_a, "admin").get("/").status_code == 200


def test_the_same_login_with_another_persons_card_fails(in_a, software_card, card_settings):
    from mynacard.services import card_login_policy_set
    from tenants.accounts.models import User

    _counter, desk = _desk()
    station, credential = _station(desk)
    staff1 = User.objects.get(username="staff1")
    software_card.load(my_number="123456789018", jpki_pin="5678")
    assert _register_own_card(staff1, station, credential, software_card, "5678")["ok"]
    card_login_policy_set(actor=User.objects.get(username="admin"), roles=["staff"])
    software_card.load(my_number="234567890121", jpki_pin="1111")  # a colleague's card, valid and unrevoked
    client = staff_client(in_a, "staff1")
    answer, status = _login_with_card(client, station, credential, software_card, "1111")
    assert (answer["ok"], answer["reason"]) == (False, "not_registered")
    assert answer["message"] == "このカードの電子証明書は登録されていません。"
    assert status.status_code == 200 and "登録されていません" in status.content.decode()
    assert client.get("/").status_code == 302


def test_a_revoked_certificate_or_a_stale_crl_fails(in_a, software_card, card_settings, card_authority,
                                                    crl_restored):
    from mynacard.services import card_login_policy_set
    from mynacard.testca import TestAuthority
    from tenants.accounts.models import User

    _counter, desk = _desk()
    station, credential = _station(desk)
    staff1 = User.objects.get(username="staff1")
    software_card.load(my_number="123456789018", jpki_pin="5678")
    assert _register_own_card(staff1, station, credential, software_card, "5678")["ok"]
    card_login_policy_set(actor=User.objects.get(username="admin"), roles=["staff"])
    authority = TestAuthority(card_authority)
    serial = 12345678901 * 10 + 7
    authority.write_crl("auth", revoked_serials=[serial],
                        next_update=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    client = staff_client(in_a, "staff1")
    answer, _status = _login_with_card(client, station, credential, software_card, "5678")
    assert (answer["ok"], answer["reason"]) == (False, "revoked")
    assert client.get("/").status_code == 302
    # A CRL past its nextUpdate proves nothing: refused as well, even without the serial in it.
    authority.write_crl("auth", revoked_serials=[], next_update=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    answer, _status = _login_with_card(client, station, credential, software_card, "5678")
    assert (answer["ok"], answer["reason"]) == (False, "revocation_unknown")


def test_resident_identity_proof_at_the_counter_and_a_wrong_jpki_pin(in_a, software_card, card_settings):
    from mynacard.models import JpkiChallenge, JpkiPurpose
    from mynacard.services import jpki_challenge_create
    from navigation.cases.services import case_open
    from tenants.accounts.models import User

    counter, desk = _desk()
    station, credential = _station(desk)
    staff1 = User.objects.get(username="staff1")
    case = case_open(actor=staff1, counter=counter, newcomers=[
        {"name": "山田　太郎", "name_kana": "ヤマダ タロウ", "birth_date": dt.date(1980, 1, 1), "sex": "1"}])
    software_card.load(jpki_pin="4321")
    with CardReader(software_card.reader_name).wait_for_card() as session:
        with pytest.raises(WrongPinError) as error:
            session.jpki_auth_sign(pin="0000", digest=b"\x00" * 32)
        assert error.value.tries_left == 2
    challenge = jpki_challenge_create(actor=staff1, station_id=station.pk, purpose=JpkiPurpose.IDENTITY,
                                      case_id=case.pk)
    payload = _card_answers(software_card, challenge, pin="4321")
    # A signature over another challenge is refused.
    forged = dict(payload, signature=base64.b64encode(b"\x01" * 256).decode())
    assert _post(credential, forged)["reason"] == "bad_signature"
    challenge = jpki_challenge_create(actor=staff1, station_id=station.pk, purpose=JpkiPurpose.IDENTITY,
                                      case_id=case.pk)
    answer = _post(credential, _card_answers(software_card, challenge, pin="4321"))
    assert answer["ok"] is True
    done = JpkiChallenge.objects.get(pk=challenge.pk)
    assert done.succeeded and "C=JP" in done.subject
    panel = staff_client(in_a, "staff1", counter=counter).get(f"/mynacard/case/{case.pk}/panel/").content.decode()
    assert "電子証明書と署名を確認しました" in panel
    # The certificate the card holds chains to the configured test root, not to a production J-LIS root.
    cert = x509.load_der_x509_certificate(base64.b64decode(payload["certificate"]))
    assert "TEST" in cert.issuer.rfc4514_string()

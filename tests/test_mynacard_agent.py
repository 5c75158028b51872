"""The station's own logic (``mynacard.agent.Station``) over the real PC/SC stack and the real server code.

The station runs in this process; its requests go to the server through Django's test client (signed as
over HTTP), so the server side is the real one. The software card is the real vpcd card. Checked here:
the PIN pad flow, wrong PIN with the tries left on the pad, the refusal at one try left until the seated
staff member confirms on the staff screen, and that the PIN never appears in anything sent to the server.
"""

from __future__ import annotations

import json

from django.test import Client

from mynacard.agent import PadState, ServerClient, Station
from mynacard.credentials import StationCredential
from mynacard.reader import CardReader
from tests.conftest import CITY_A, staff_client


class InProcessServer(ServerClient):
    """The station's HTTP client, delivering its signed requests to the server in this process."""

    def __init__(self, credential: StationCredential) -> None:
        super().__init__(credential)
        self.sent: list[bytes] = []
        self.client = Client()

    def post(self, path: str, payload: dict) -> dict:
        body = json.dumps(payload).encode()
        self.sent.append(body)
        headers = self.credential.sign_headers(method="POST", host=self.host, path=path, body=body)
        response = self.client.post(path, data=body, content_type="application/json", HTTP_HOST=self.host,
                                    **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
        assert response.status_code == 200, response.content
        return response.json()


def _station(software_card):  # noqa: ANN001
    from mynacard.services import station_register
    from navigation.cases.services import case_open
    from tenants.accounts.models import Counter, Desk, User
    from tenants.accounts.services import desk_sit

    counter = Counter.objects.order_by("sort_order", "name").first()
    desk = Desk.objects.create(counter=counter, name="1番席")
    staff1 = User.objects.get(username="staff1")
    counter.staff.add(staff1)  # counters are per staff member (their department's or assigned)
    desk_sit(actor=staff1, desk_id=desk.pk)
    import datetime as dt

    case = case_open(actor=staff1, counter=counter, newcomers=[
        {"name": "来庁 者", "name_kana": "ライチョウ シャ", "birth_date": dt.date(1990, 1, 1), "sex": "1"}])
    issued = station_register(actor=User.objects.get(username="admin"), desk_id=desk.pk, name="リーダー",
                              server=f"http://{CITY_A.host}")
    server = InProcessServer(StationCredential.loads(issued.credential))
    pad = PadState()
    return Station(client=server, reader=CardReader(software_card.reader_name), pad=pad), server, pad, counter, case


def _type(pad: PadState, pin: str) -> None:
    """What the PIN pad page's form does."""
    with pad.lock:
        assert pad.prompt, "the pad is not asking for a PIN"
        pad.pin, pad.prompt = pin, ""


def test_wrong_pin_then_one_try_left_waits_for_the_staff_confirmation(in_a, software_card, card_settings):
    from mynacard.models import CardRead

    station, server, pad, counter, case = _station(software_card)
    software_card.load(pin="2580", name="𠮷田　髙子")
    station.step()  # card seen: the pad asks for the PIN
    assert pad.prompt == "券面事項入力補助用の暗証番号（数字4桁）"
    _type(pad, "1111")
    station.step()
    assert "あと2回" in pad.result and pad.prompt  # asks again, shows the tries left
    _type(pad, "1112")
    station.step()
    assert "あと1回" in pad.result
    # One try left: the next PIN is not tried; the station asks the staff member.
    _type(pad, "2580")
    station.step()
    assert station.needs_confirmation and not pad.prompt
    station.step()  # reports needs_confirmation
    staff = staff_client(in_a, "staff1", counter=counter)
    panel = staff.get("/mynacard/desk/panel/").content.decode()
    assert "最後の1回の照合を許可する" in panel
    station.step()
    assert not pad.prompt and "職員が確認するまで" in pad.message  # still waiting, nothing tried
    with CardReader(software_card.reader_name).wait_for_card() as session:
        session.select_kenhojo()
        assert session.pin_tries_left() == 1
    staff.post(f"/mynacard/stations/{station_id(server)}/confirm/")
    station.step()  # the confirmation arrives; the pad asks again
    assert station.confirmed and pad.prompt and "職員が確認しました" in pad.message
    _type(pad, "2580")
    station.step()
    assert "受付に反映しました" in pad.result
    read = CardRead.objects.get()
    assert (read.case_id, read.name, read.apdu_count) == (case.pk, "𠮷田　髙子", 6)
    # The PIN never left the station.
    for body in server.sent:
        for pin in ("1111", "1112", "2580"):
            assert pin.encode() not in body


def station_id(server: InProcessServer) -> int:
    from mynacard.models import ReaderStation

    return ReaderStation.objects.get(key_id=server.credential.key_id).pk


def test_the_station_reports_a_card_that_is_not_a_my_number_card_and_a_blocked_card(in_a, software_card,
                                                                                   card_settings):
    from mynacard.models import ReaderStation

    station, server, pad, counter, _case = _station(software_card)
    software_card.load(kind="other")
    station.step()
    _type(pad, "1234")
    station.step()
    assert "マイナンバーカードではありません" in pad.result
    station.step()
    status = ReaderStation.objects.get(key_id=server.credential.key_id).status
    assert status["card"] is True and status["error"]["code"] == "not_mynumber_card"
    panel = staff_client(in_a, "staff1", counter=counter).get("/mynacard/desk/panel/").content.decode()
    assert "マイナンバーカードではありません" in panel and "カードあり" in panel
    software_card.remove()
    station.step()  # the card is taken away: the station is ready for the next one
    assert "置いてください" in pad.message
    software_card.load(pin_tries=0)
    station.step()  # new card: the pad asks again
    _type(pad, "1234")
    station.step()
    assert "ロックされています" in pad.result


def test_the_station_reads_the_my_number_only_when_the_staff_member_asked(in_a, software_card, card_settings):
    from mynacard.models import CardRead

    station, server, pad, counter, case = _station(software_card)
    software_card.load(my_number="345678901234")
    station.step()
    _type(pad, "1234")
    station.step()
    first = CardRead.objects.get()
    assert first.my_number_encrypted is None and first.apdu_count == 6  # the 個人番号 file was not touched
    staff = staff_client(in_a, "staff1", counter=counter)
    staff.post(f"/mynacard/stations/{station_id(server)}/my-number/", {"purpose": "転入届", "case": case.pk})
    software_card.remove()
    station.step()
    software_card.insert()
    station.step()
    _type(pad, "1234")
    station.step()
    second = CardRead.objects.exclude(pk=first.pk).get()
    assert second.my_number_encrypted is not None and second.apdu_count == 7
    shown = staff.post(f"/mynacard/reads/{second.pk}/my-number/", {"purpose": "転入届"})
    assert "345678901234" in shown.content.decode()

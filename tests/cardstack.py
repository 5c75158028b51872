"""The real PC/SC stack for card tests: pcscd + vsmartcard-vpcd + the software card + pyscard.

pcscd is started by ``.ci/services.sh`` (``make test``). vpcd offers two reader slots (TCP 35963 /
35964, readers "Virtual PCD 00 00" / "Virtual PCD 00 01"); each pytest process claims one with an
exclusive lock file for its whole session, so two xdist workers (or a worker and ``make run``'s demo)
never drive the same slot. Card tests live in a few files; with ``--dist loadfile`` at most two run
at once, one per slot.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mynacard.slots import BASE_PORT, claim_slot, vpcd_listening

ROOT = Path(__file__).resolve().parent.parent
SLOT_BASE_PORT = BASE_PORT


def pcscd_listening(port: int = SLOT_BASE_PORT) -> bool:
    return vpcd_listening(port)


BASE_PERSONA = {
    "id": "p", "name": "山田　太郎", "address": "東京都千代田区霞が関１丁目２番３号", "birth_date": "19800101",
    "sex": "1", "my_number": "123456789018", "pin": "1234", "jpki_pin": "5678", "sign_password": "ABC123",
}


class SoftwareCardProcess:
    """``python -m mynacard.emulator`` on this process's slot, driven through its stdin."""

    def __init__(self, *, slot: int, authority: Path, workdir: Path) -> None:
        self.slot = slot
        self.port = SLOT_BASE_PORT + slot
        self.reader_name = f"Virtual PCD 00 {slot:02d}"
        self.authority = authority
        self.workdir = workdir
        self.persona_file = workdir / "personas.json"
        self.persona_file.write_text(json.dumps([BASE_PERSONA], ensure_ascii=False), encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mynacard.emulator", "--personas", str(self.persona_file), "--persona", "p",
             "--authority", str(authority), "--port", str(self.port), "--no-insert"],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            encoding="utf-8",
        )
        self._expect("ready")
        self.inserted = False
        self.counter = 0

    def _send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def _expect(self, word: str) -> str:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"software card exited (waiting for {word!r})")
            if line.startswith("error"):
                raise RuntimeError(line)
            if line.strip() == word or line.startswith(word):
                return line

    def load(self, **overrides: object) -> dict:
        """Put a new card with the base persona plus ``overrides`` into the reader."""
        self.counter += 1
        persona = {**BASE_PERSONA, **overrides, "id": f"p{self.counter}"}
        self.persona_file.write_text(json.dumps([persona], ensure_ascii=False), encoding="utf-8")
        self._send(f"load {self.persona_file} {persona['id']}")
        self._expect("loaded")
        self.inserted = False
        self.insert()
        return persona

    def insert(self) -> None:
        self._send("insert")
        self._expect("inserted")
        self.inserted = True
        # pcscd polls card presence; wait until it reports the card before handing over.
        from mynacard.reader import CardReader

        deadline = time.monotonic() + 15
        reader = CardReader(self.reader_name)
        while not reader.card_present():
            if time.monotonic() > deadline:
                raise RuntimeError("pcscd did not see the software card")
            time.sleep(0.05)

    def remove(self) -> None:
        self._send("remove")
        self._expect("removed")
        self.inserted = False
        from mynacard.reader import CardReader

        deadline = time.monotonic() + 15
        reader = CardReader(self.reader_name)
        while reader.card_present():
            if time.monotonic() > deadline:
                raise RuntimeError("pcscd still sees the software card")
            time.sleep(0.05)

    def remove_after(self, apdus: int) -> None:
        self._send(f"remove-after {apdus}")
        self._expect("armed")

    def stop(self) -> None:
        try:
            self._send("quit")
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture(scope="session")
def card_authority(tmp_path_factory) -> Path:  # noqa: ANN001
    """The software card's test CA for this process; ``/anchors`` is the trust directory."""
    from mynacard.testca import TestAuthority

    return TestAuthority(tmp_path_factory.mktemp("card-authority")).root


@pytest.fixture(scope="session")
def trust_anchors(card_authority):  # noqa: ANN001
    from mynacard.trust import load_trust_anchors

    return load_trust_anchors(card_authority / "anchors", allow_test=True)


@pytest.fixture(scope="session")
def software_card(card_authority, tmp_path_factory):  # noqa: ANN001
    if not pcscd_listening():
        pytest.fail("pcscd with vsmartcard-vpcd is not running: run `bash .ci/services.sh` (make test does)")
    slot, lock = claim_slot()
    card = SoftwareCardProcess(slot=slot, authority=card_authority, workdir=tmp_path_factory.mktemp("card"))
    yield card
    card.stop()
    lock.close()


# ---------------------------------------------------------------------------------------------
# Helpers for server-side tests (card files produced by the software card's own code, in-process)
# ---------------------------------------------------------------------------------------------
_RAW_CACHE: dict = {}


def raw_read(authority: Path, *, with_my_number: bool = False, **overrides: object):  # noqa: ANN201
    """The files a station would post for a card with the base persona plus ``overrides`` (one card per
    persona and process: making a card generates three RSA keys)."""
    key = (str(authority), with_my_number, tuple(sorted(overrides.items())))
    if key not in _RAW_CACHE:
        _RAW_CACHE[key] = _raw_read(authority, with_my_number=with_my_number, **overrides)
    return _RAW_CACHE[key]


def _raw_read(authority: Path, *, with_my_number: bool = False, **overrides: object):  # noqa: ANN202
    from mynacard import apdu
    from mynacard.emulator import Persona, SoftwareCard
    from mynacard.reader import RawCardRead
    from mynacard.testca import TestAuthority

    persona = Persona(**{**BASE_PERSONA, **overrides})
    card = SoftwareCard(persona, TestAuthority(authority))
    files = card.apps[apdu.AID_KENHOJO].files
    return RawCardRead(basic4=files[apdu.EF_BASIC4].content, integrity=files[apdu.EF_INTEGRITY].content,
                       certificate=files[apdu.EF_CERTIFICATE].content,
                       my_number=files[apdu.EF_MY_NUMBER].content if with_my_number else None)


def read_payload(raw) -> dict:  # noqa: ANN001
    import base64

    payload = {"basic4": base64.b64encode(raw.basic4).decode(), "integrity": base64.b64encode(raw.integrity).decode(),
               "certificate": base64.b64encode(raw.certificate).decode()}
    if raw.my_number is not None:
        payload["my_number"] = base64.b64encode(raw.my_number).decode()
    return payload


def make_resident(*, number: str, name: str, kana: str, birth, sex: str, address: str) -> str:  # noqa: ANN001
    from integration.checkdigits import with_check_digit
    from integration.models import Resident
    from integration.normalize import normalize_address, normalize_kana, normalize_name

    atena_no = with_check_digit(number)
    Resident.objects.create(atena_no=atena_no, household_no=with_check_digit("9" + number[1:]), name=name,
                            name_kana=kana, birth_date=birth, sex=sex, relationship="世帯主", address=address,
                            search_name=normalize_name(name), search_kana=normalize_kana(kana),
                            search_address=normalize_address(address))
    return atena_no


@pytest.fixture
def card_settings(settings, card_authority):  # noqa: ANN001
    """The server trusts this process's test authority (as a deployment's trust directory would)."""
    settings.MYNACARD_TRUST_DIR = card_authority / "anchors"
    settings.MYNACARD_ALLOW_TEST_ANCHORS = True
    return settings

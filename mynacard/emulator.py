"""Software My Number card speaking the vpcd protocol (``python -m mynacard.emulator``).

pcscd with vsmartcard-vpcd offers virtual readers "Virtual PCD 00 0n" and listens on TCP 35963+n.
This process connects there as the card (mynacard-protocol.md §8.3: every frame is a 2-byte length
then the bytes; a 1-byte frame is a control byte: 00 off, 01 on, 02 reset, 04 get ATR). Any PC/SC
client (pyscard, our reader library, the station) then sees a real reader with a card in it.

The card carries the 券面事項入力補助AP (個人番号, 基本4情報, integrity record, CV certificate, PIN
with 3 tries) and the 公的個人認証AP (利用者証明用/署名用 certificates and keys, PINs, COMPUTE
DIGITAL SIGNATURE), all signed by the test authority of ``mynacard.testca`` — never a production
trust anchor. Retry counters survive power cycles and removal (and, with ``--state``, restarts).

Control lines on stdin (for tests and demos): ``remove``, ``insert``, ``remove-after N`` (pull the card
out instead of answering the N+1th APDU), ``load PERSONA_FILE PERSONA_ID``, ``status``, ``quit``.
For tests and the demo only: vpcd listens on every interface, never install it on a station.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard import apdu, cardfiles
from mynacard.testca import ROGUE_KENHOJO_KEY_ID, TestAuthority, new_rsa_key, rsa_sign

ATR = bytes.fromhex("3BC5FF8131FB458073C6010000")  # a real My Number contact ATR (§7)
VPCD_PORT = 35963
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
PERSONAS = Path(__file__).resolve().parent / "personas" / "demo.json"


def sw(code: int) -> bytes:
    return code.to_bytes(2, "big")


@dataclass
class Persona:
    id: str
    name: str
    address: str
    birth_date: str
    sex: str
    my_number: str
    pin: str = "1234"
    jpki_pin: str = "1234"
    sign_password: str = "ABC123"  # noqa: S105 - software test card persona
    name_alt: str = ""  # 代替文字 form (JPKI 署名用証明書 氏名代替)
    address_alt: str = ""
    kind: str = "mynumber"  # "other": a smart card without the My Number APs
    tamper: str = ""  # "basic4": data changed under the old hash; "rehash": hash updated, old signature
    # "rogue": certificate from a CA no trust directory holds; "forged": the trusted key id, another key
    issuer: str = "test"
    length_form: str = "minimal"  # "82": FF20 length written as 82 hh ll
    physical_size: int = 0  # EF 0002 padded with FF filler up to this size
    extended: bool = True  # False: refuse extended-length APDUs (6700), as a card without them would
    pin_tries: int = 3
    jpki_serial: int = 0

    @classmethod
    def load(cls, path: Path | str, persona_id: str) -> Persona:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        items = data["personas"] if isinstance(data, dict) else data
        for item in items:
            if item["id"] == persona_id:
                known = set(cls.__dataclass_fields__)
                return cls(**{k: v for k, v in item.items() if k in known})
        raise KeyError(f"persona {persona_id!r} not in {path}")


@dataclass
class PinKey:
    value: bytes
    max_tries: int
    tries_left: int


@dataclass
class Ef:
    content: bytes
    needs: int | None = None  # key reference (PIN EF) that must be verified to read


@dataclass
class PrivateKey:
    key: rsa.RSAPrivateKey
    needs: int | None


@dataclass
class Application:
    files: dict[int, Ef] = field(default_factory=dict)
    pins: dict[int, PinKey] = field(default_factory=dict)
    keys: dict[int, PrivateKey] = field(default_factory=dict)


class SoftwareCard:
    """The card's operating system: files, PINs, keys and the APDU dispatcher."""

    def __init__(self, persona: Persona, authority: TestAuthority, *, state_file: Path | None = None) -> None:
        self.persona = persona
        self.authority = authority
        self.state_file = state_file
        self.apps: dict[bytes, Application] = {}
        if persona.kind == "mynumber":
            self._build()
            self._load_state()
        self.power_up()

    # ----------------------------------------------------------------- personalisation
    def _build(self) -> None:
        p = self.persona
        my_number_ef = cardfiles.build_my_number(p.my_number)
        basic4_ef = cardfiles.build_basic4(name=p.name, address=p.address, birth_date=p.birth_date, sex=p.sex,
                                           length_form=p.length_form, physical_size=p.physical_size)
        signer = new_rsa_key()  # the key certified in EF 0004 that signs DF33
        integrity = cardfiles.build_integrity(my_number_ef=my_number_ef, basic4_ef=basic4_ef,
                                              sign=lambda m: rsa_sign(signer, m))
        if p.tamper:
            # The data on the card changes after issuance; the stored record stays (or is re-hashed).
            old = cardfiles.parse_integrity(integrity)
            basic4_ef = cardfiles.build_basic4(name=p.name, address=p.address + "９９", birth_date=p.birth_date,
                                               sex=p.sex, length_form=p.length_form, physical_size=p.physical_size)
            if p.tamper == "rehash":
                from mynacard import ber

                signed = ber.encode(cardfiles.TAG_HASH_MY_NUMBER, cardfiles.sha256(my_number_ef)) + ber.encode(
                    cardfiles.TAG_HASH_BASIC4, cardfiles.sha256(cardfiles.basic4_hashed_region(basic4_ef)))
                integrity = cardfiles.build_integrity_raw(signed=signed, signature=old.signature)
        if p.issuer == "rogue":
            rogue = new_rsa_key()
            issuer_id, ca_sign = ROGUE_KENHOJO_KEY_ID, (lambda body: rsa_sign(rogue, body))
        elif p.issuer == "forged":
            forger = new_rsa_key()
            issuer_id, ca_sign = self.authority.kenhojo_key_id, (lambda body: rsa_sign(forger, body))
        else:
            issuer_id, ca_sign = self.authority.kenhojo_key_id, self.authority.sign_kenhojo
        subject_id = b"S" + p.my_number[-6:].encode() + b"\x08\x05" + b"001" + b"\x00" * 4
        certificate = cardfiles.build_cv_certificate(
            issuer_key_id=issuer_id, subject_key_id=subject_id[:16].ljust(16, b"\x00"),
            public_numbers=signer.public_key().public_numbers(), sign=ca_sign)
        kenhojo = Application()
        kenhojo.pins[apdu.EF_KENHOJO_PIN] = PinKey(p.pin.encode(), 3, p.pin_tries)
        kenhojo.files[apdu.EF_MY_NUMBER] = Ef(my_number_ef, apdu.EF_KENHOJO_PIN)
        kenhojo.files[apdu.EF_BASIC4] = Ef(basic4_ef, apdu.EF_KENHOJO_PIN)
        kenhojo.files[apdu.EF_INTEGRITY] = Ef(integrity, apdu.EF_KENHOJO_PIN)
        kenhojo.files[apdu.EF_CERTIFICATE] = Ef(certificate)
        self.apps[apdu.AID_KENHOJO] = kenhojo

        jpki = Application()
        auth_key, sign_key = new_rsa_key(), new_rsa_key()
        serial = p.jpki_serial or int(p.my_number[:11]) * 10 + 7
        der = serialization.Encoding.DER
        auth_cert = self.authority.jpki_auth.issue(public_key=auth_key.public_key(), common_name=f"{serial:016d}A",
                                                   serial=serial)
        other_names = {"1.2.392.200149.8.5.5.1": p.name, "1.2.392.200149.8.5.5.3": p.sex,
                       "1.2.392.200149.8.5.5.4": p.birth_date, "1.2.392.200149.8.5.5.5": p.address}
        if p.name_alt:
            other_names["1.2.392.200149.8.5.5.2"] = p.name_alt
        if p.address_alt:
            other_names["1.2.392.200149.8.5.5.6"] = p.address_alt
        sign_cert = self.authority.jpki_sign.issue(public_key=sign_key.public_key(), common_name=f"{serial:016d}S",
                                                   serial=serial + 1, other_names=other_names)
        token = b"JPKIAPICCTOKEN2".ljust(32, b" ") + b"\x00" * 128
        jpki.pins[apdu.EF_JPKI_AUTH_PIN] = PinKey(p.jpki_pin.encode(), 3, 3)
        jpki.pins[apdu.EF_JPKI_SIGN_PIN] = PinKey(p.sign_password.upper().encode(), 5, 5)
        jpki.files[apdu.EF_JPKI_TOKEN] = Ef(token)
        jpki.files[0x0008] = Ef(b"\x8f\x8f\x00")
        jpki.files[apdu.EF_JPKI_AUTH_CERT] = Ef(auth_cert.public_bytes(der))
        jpki.files[apdu.EF_JPKI_AUTH_CA] = Ef(self.authority.jpki_auth.certificate.public_bytes(der))
        jpki.files[apdu.EF_JPKI_SIGN_CERT] = Ef(sign_cert.public_bytes(der), apdu.EF_JPKI_SIGN_PIN)
        jpki.files[apdu.EF_JPKI_SIGN_CA] = Ef(self.authority.jpki_sign.certificate.public_bytes(der))
        jpki.keys[apdu.EF_JPKI_AUTH_KEY] = PrivateKey(auth_key, apdu.EF_JPKI_AUTH_PIN)
        jpki.keys[apdu.EF_JPKI_SIGN_KEY] = PrivateKey(sign_key, apdu.EF_JPKI_SIGN_PIN)
        self.apps[apdu.AID_JPKI] = jpki

    # ----------------------------------------------------------------- persistent retry counters
    def _state_key(self) -> str:
        return self.persona.id

    def _load_state(self) -> None:
        if not self.state_file or not self.state_file.exists():
            return
        saved = json.loads(self.state_file.read_text()).get(self._state_key(), {})
        for aid, app in self.apps.items():
            for fid, pin in app.pins.items():
                value = saved.get(f"{aid.hex()}:{fid:04x}")
                if value is not None:
                    pin.tries_left = int(value)

    def _save_state(self) -> None:
        if not self.state_file:
            return
        data = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        data[self._state_key()] = {f"{aid.hex()}:{fid:04x}": pin.tries_left
                                   for aid, app in self.apps.items() for fid, pin in app.pins.items()}
        self.state_file.write_text(json.dumps(data))

    # ----------------------------------------------------------------- power
    def power_up(self) -> None:
        self.selected: bytes | None = None
        self.current_ef: int | None = None
        self.verified: set[int] = set()

    power_down = power_up
    reset = power_up

    # ----------------------------------------------------------------- dispatcher
    def execute(self, raw: bytes) -> bytes:
        try:
            cmd = apdu.parse_command(raw)
        except apdu.MalformedCommand:
            return sw(0x6700)
        if cmd.cla & 0x03:
            return sw(0x6881)
        if cmd.extended and not self.persona.extended:
            return sw(0x6700)
        if cmd.cla & ~0x03 & 0xFF not in (0x00, 0x80):
            return sw(0x6E00)
        handler = {0xA4: self._select, 0xB0: self._read_binary, 0x20: self._verify,
                   0x2A: self._sign, 0x24: self._change}.get(cmd.ins)
        if handler is None:
            return sw(0x6D00)
        return handler(cmd)

    def _app(self) -> Application | None:
        return self.apps.get(self.selected) if self.selected else None

    def _select(self, cmd: apdu.ParsedCommand) -> bytes:
        if cmd.p1 == 0x04:
            if cmd.data not in self.apps:
                return sw(0x6A82)
            self.selected, self.current_ef, self.verified = cmd.data, None, set()
            return sw(0x9000)
        if cmd.p1 == 0x00:
            return sw(0x9000) if self.selected else sw(0x6A86)
        if cmd.p1 == 0x02:
            app = self._app()
            if app is None or len(cmd.data) != 2:
                return sw(0x6A82)
            fid = int.from_bytes(cmd.data, "big")
            if fid in app.files or fid in app.pins or fid in app.keys:
                self.current_ef = fid
                return sw(0x9000)
            return sw(0x6A82)
        return sw(0x6A86)

    def _read_binary(self, cmd: apdu.ParsedCommand) -> bytes:
        app = self._app()
        if app is None:
            return sw(0x6986)
        if cmd.p1 & 0x80:
            fid, offset = cmd.p1 & 0x1F, cmd.p2
            if fid not in app.files:
                return sw(0x6A82)
            self.current_ef = fid
        else:
            fid, offset = self.current_ef, (cmd.p1 << 8) | cmd.p2
        ef = app.files.get(fid) if fid is not None else None
        if ef is None:
            return sw(0x6986)
        if ef.needs is not None and ef.needs not in self.verified:
            return sw(0x6982)
        if offset >= len(ef.content):
            return sw(0x6B00)
        return ef.content[offset:offset + (cmd.le or 256)] + sw(0x9000)

    def _verify(self, cmd: apdu.ParsedCommand) -> bytes:
        app = self._app()
        if app is None or not cmd.p2 & 0x80:
            return sw(0x6A86)
        fid = cmd.p2 & 0x1F or self.current_ef
        pin = app.pins.get(fid) if fid is not None else None
        if pin is None:
            return sw(0x6A88)
        if not cmd.data:
            if pin.tries_left == 0:
                return sw(0x6984)
            return sw(0x63C0 | pin.tries_left)
        if pin.tries_left == 0:
            return sw(0x6984)
        if cmd.data == pin.value:
            pin.tries_left = pin.max_tries
            self.verified.add(fid)
            self._save_state()
            return sw(0x9000)
        pin.tries_left -= 1
        self.verified.discard(fid)
        self._save_state()
        return sw(0x63C0 | pin.tries_left)

    def _change(self, cmd: apdu.ParsedCommand) -> bytes:
        app = self._app()
        fid = self.current_ef
        if app is None or fid not in app.pins:
            return sw(0x6A88)
        if fid not in self.verified:
            return sw(0x6982)
        app.pins[fid].value = cmd.data
        return sw(0x9000)

    def _sign(self, cmd: apdu.ParsedCommand) -> bytes:
        app = self._app()
        if app is None:
            return sw(0x6986)
        if cmd.p1 != 0x00:
            return sw(0x6A86)
        fid = cmd.p2 & 0x1F or self.current_ef
        key = app.keys.get(fid) if fid is not None else None
        if key is None:
            return sw(0x6A88)
        if key.needs is not None and key.needs not in self.verified:
            return sw(0x6982)
        if not 1 <= len(cmd.data) <= 245:
            return sw(0x6985)
        # PKCS#1 v1.5 type-1 padding over the DigestInfo exactly as supplied (§4.3).
        return _pkcs1_sign_raw(key.key, cmd.data) + sw(0x9000)


def _pkcs1_sign_raw(key: rsa.RSAPrivateKey, digest_info: bytes) -> bytes:
    """RSA PKCS#1 v1.5 over caller-supplied DigestInfo bytes (the card does no hashing)."""

    numbers = key.private_numbers()
    k = (numbers.public_numbers.n.bit_length() + 7) // 8
    block = b"\x00\x01" + b"\xff" * (k - 3 - len(digest_info)) + b"\x00" + digest_info
    value = pow(int.from_bytes(block, "big"), numbers.d, numbers.public_numbers.n)
    return value.to_bytes(k, "big")


# ---------------------------------------------------------------------------------------------
# vpcd wire protocol
# ---------------------------------------------------------------------------------------------
class VpcdLink:
    """One connection to vpcd = a card in the reader. Closing it = pulling the card out."""

    def __init__(self, card: SoftwareCard | None, *, host: str = "127.0.0.1", port: int = VPCD_PORT,
                 log: object = None) -> None:
        self.card = card
        self.host, self.port = host, port
        self.log = log or (lambda line: None)
        self.sock: socket.socket | None = None
        self.lock = threading.Lock()
        self.remove_after: int | None = None
        self.apdus = 0
        self.thread: threading.Thread | None = None

    def insert(self) -> None:
        with self.lock:
            if self.sock is not None:
                return
            self.sock = socket.create_connection((self.host, self.port), timeout=10)
            self.sock.settimeout(None)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.apdus = 0
        self.thread = threading.Thread(target=self._serve, args=(self.sock,), daemon=True)
        self.thread.start()
        self.log("inserted")

    def remove(self) -> None:
        with self.lock:
            sock, self.sock = self.sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            self.log("removed")

    def _recv_exact(self, sock: socket.socket, size: int) -> bytes | None:
        chunks, remaining = [], size
        while remaining:
            try:
                chunk = sock.recv(remaining)
                if _QUICKACK is not None:  # vpcd writes length and body separately: ACK at once (no 40 ms delay)
                    sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:
                return None
            if not chunk:
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        sock.sendall(len(payload).to_bytes(2, "big") + payload)

    def _serve(self, sock: socket.socket) -> None:
        while True:
            header = self._recv_exact(sock, 2)
            if header is None:
                break
            message = self._recv_exact(sock, int.from_bytes(header, "big"))
            if message is None:
                break
            card = self.card
            if len(message) == 1:
                control = message[0]
                if control == 0x04:
                    self._send(sock, ATR)
                elif card is not None and control in (0x00, 0x01, 0x02):
                    card.power_up()
                continue
            if self.remove_after is not None and self.apdus >= self.remove_after:
                self.remove_after = None
                self.log("pulled out mid-read")
                threading.Thread(target=self.remove, daemon=True).start()
                break
            self.apdus += 1
            response = card.execute(message) if card is not None else sw(0x6F00)
            try:
                self._send(sock, response)
            except OSError:
                break
        with self.lock:
            if self.sock is sock:
                self.sock = None
                sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mynacard.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--personas", default=str(PERSONAS), help="persona file (JSON)")
    parser.add_argument("--persona", default="yamada", help="persona id in the file")
    parser.add_argument("--authority", default="var/card-test-authority",
                        help="directory of the test CA (created if missing); its anchors/ is a trust directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=VPCD_PORT, help="vpcd slot port (35963 = slot 0, 35964 = slot 1)")
    parser.add_argument("--state", default="", help="file keeping PIN retry counters across restarts")
    parser.add_argument("--no-insert", action="store_true", help="start with the card out of the reader")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, flush=True)

    authority = TestAuthority(args.authority)
    state = Path(args.state) if args.state else None
    card = SoftwareCard(Persona.load(args.personas, args.persona), authority, state_file=state)
    link = VpcdLink(card, host=args.host, port=args.port, log=say)
    if not args.no_insert:
        link.insert()
    say("ready")
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "quit":
                break
            if words[0] == "remove":
                link.remove()
            elif words[0] == "insert":
                link.insert()
            elif words[0] == "remove-after":
                link.remove_after = link.apdus + int(words[1])
                say("armed")
            elif words[0] == "load":
                link.remove()
                link.card = SoftwareCard(Persona.load(words[1], words[2]), authority, state_file=state)
                say("loaded")
            elif words[0] == "status":
                say(json.dumps({"inserted": link.sock is not None, "apdus": link.apdus,
                                "persona": link.card.persona.id if link.card else None}))
            else:
                say(f"unknown command {words[0]}")
        except (OSError, KeyError, IndexError, ValueError) as exc:
            say(f"error {exc}")
    link.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

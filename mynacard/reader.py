"""PC/SC reader library for the My Number card (pyscard).

- ``list_readers()`` / ``CardReader.wait_for_card()`` find readers and wait for a card; a card is
  recognised by SELECTing the application (AID), never by its ATR.
- ``CardSession`` talks to the card: the remaining PIN tries are checked before every VERIFY (an empty
  VERIFY answers 63Cx), VERIFY is sent at most once per call (nothing loops on VERIFY), and at one
  try left it refuses unless the caller passes ``confirmed=True`` (the staff member confirmed).
- Files are read with SFI READ BINARY (no separate SELECT): one extended APDU per file when the card
  takes extended lengths, else 256-byte chunks (the fallback is detected once per session).
- The 個人番号 is read only by ``read_my_number()``, a separate call made for procedures that need it.
- ``ApduLog`` records every exchange with PIN bytes masked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from mynacard import apdu, ber
from mynacard.errors import (
    BadPinFormatError,
    CardBlockedError,
    CardError,
    CardRemovedError,
    NoCardError,
    NoReaderError,
    NotMyNumberCardError,
    PinConfirmationRequired,
    WrongPinError,
)

# SCARD error codes meaning the card went away (pcsclite values).
_REMOVED = {0x80100069, 0x8010000C, 0x80100068, 0x80100067, 0x80100066, 0x80100009}


@dataclass
class ApduLogEntry:
    command: str  # hex, PIN data masked
    sw: int
    response_bytes: int
    ms: float


@dataclass
class ApduLog:
    entries: list[ApduLogEntry] = field(default_factory=list)

    def add(self, command: bytes, sw: int, response_bytes: int, ms: float) -> None:
        self.entries.append(ApduLogEntry(mask_command(command), sw, response_bytes, ms))

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def bytes_read(self) -> int:
        return sum(e.response_bytes for e in self.entries)

    def lines(self) -> list[str]:
        return [f"> {e.command} < {e.sw:04X} ({e.response_bytes} B, {e.ms:.1f} ms)" for e in self.entries]


def mask_command(command: bytes) -> str:
    """Hex of a command APDU with the data of VERIFY / CHANGE REFERENCE DATA replaced by ``**``."""
    if len(command) > 5 and command[1] in (0x20, 0x24):
        try:
            parsed = apdu.parse_command(command)
        except apdu.MalformedCommand:
            return command[:4].hex().upper() + " **"
        head = command[:len(command) - len(parsed.data)]
        return head.hex().upper() + "**" * len(parsed.data)
    return command.hex().upper()


def list_readers() -> list[str]:
    from smartcard.Exceptions import ListReadersException
    from smartcard.System import readers

    try:
        return [str(r) for r in readers()]
    except ListReadersException:
        return []


@dataclass(frozen=True)
class RawCardRead:
    """What was read from the 券面事項入力補助AP, byte for byte (the server verifies it again)."""

    basic4: bytes
    integrity: bytes
    certificate: bytes
    my_number: bytes | None = None


class CardReader:
    def __init__(self, reader_name: str | None = None) -> None:
        self.reader_name = reader_name

    def _reader(self) -> object:
        from smartcard.Exceptions import ListReadersException
        from smartcard.System import readers

        try:
            available = readers()
        except ListReadersException:
            available = []
        if not available:
            raise NoReaderError
        if self.reader_name is None:
            return available[0]
        for reader in available:
            if str(reader) == self.reader_name:
                return reader
        raise NoReaderError

    def card_present(self) -> bool:
        from smartcard.Exceptions import CardConnectionException, NoCardException

        connection = self._reader().createConnection()
        try:
            connection.connect()
        except (NoCardException, CardConnectionException):
            return False
        connection.disconnect()
        return True

    @contextmanager
    def wait_for_card(self, *, timeout: float = 10.0, log: ApduLog | None = None) -> Iterator[CardSession]:
        """Wait for a card in the reader and hold it exclusively for the ``with`` block."""
        from smartcard.Exceptions import CardConnectionException, NoCardException
        from smartcard.scard import SCARD_SHARE_EXCLUSIVE

        reader = self._reader()
        deadline = time.monotonic() + timeout
        while True:
            connection = reader.createConnection()
            try:
                connection.connect(mode=SCARD_SHARE_EXCLUSIVE)
                break
            except (NoCardException, CardConnectionException) as exc:
                if time.monotonic() >= deadline:
                    raise NoCardError from exc
                time.sleep(0.1)
        session = CardSession(connection, log=log or ApduLog())
        try:
            yield session
        finally:
            try:
                connection.disconnect()
            except Exception:  # noqa: BLE001,S110 - the card may already be gone
                pass


class CardSession:
    def __init__(self, connection: object, *, log: ApduLog) -> None:
        self.connection = connection
        self.log = log
        self.extended = True  # until the card answers 6700 to an extended APDU
        self.application: bytes | None = None

    # ------------------------------------------------------------------ transport
    def transmit(self, command: bytes) -> tuple[bytes, int]:
        from smartcard.Exceptions import CardConnectionException

        started = time.perf_counter()
        try:
            data, sw1, sw2 = self.connection.transmit(list(command))
        except CardConnectionException as exc:
            hresult = (getattr(exc, "hresult", None) or 0) & 0xFFFFFFFF
            if hresult in _REMOVED or self._card_went_away():
                raise CardRemovedError from exc
            raise CardError(details_hresult=f"{hresult:08X}") from exc
        sw = (sw1 << 8) | sw2
        self.log.add(command, sw, len(data), (time.perf_counter() - started) * 1000)
        return bytes(data), sw

    def _card_went_away(self, *, within: float = 2.0) -> bool:
        """After a failed exchange: did the card leave the reader? (pcscd notices by polling.)"""
        from smartcard.Exceptions import CardConnectionException

        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                self.connection.getATR()
            except CardConnectionException:
                return True
            time.sleep(0.05)
        return False

    # ------------------------------------------------------------------ applications
    def select(self, aid: bytes) -> None:
        _data, sw = self.transmit(apdu.select_aid(aid))
        if sw != apdu.SW_OK:
            self.application = None
            raise NotMyNumberCardError
        self.application = aid

    def select_kenhojo(self) -> None:
        self.select(apdu.AID_KENHOJO)

    # ------------------------------------------------------------------ PIN
    def pin_tries_left(self, *, key_sfi: int = apdu.EF_KENHOJO_PIN) -> int:
        """Remaining tries, without consuming one (empty VERIFY, §3.2)."""
        _data, sw = self.transmit(apdu.verify(pin=None, sfi=key_sfi))
        if sw == 0x6984 or sw == 0x63C0 or sw == 0x6983:
            raise CardBlockedError
        if sw & 0xFFF0 == 0x63C0:
            return sw & 0x0F
        if sw == apdu.SW_OK:  # already verified in this session
            return -1
        raise CardError(details_sw=f"{sw:04X}")

    def verify_pin(self, pin: str, *, confirmed: bool = False, key_sfi: int = apdu.EF_KENHOJO_PIN,
                   digits: int | None = 4) -> None:
        """Check the tries left, then VERIFY once. Never retries."""
        if digits is not None and (len(pin) != digits or not pin.isascii() or not pin.isdigit()):
            raise BadPinFormatError
        tries = self.pin_tries_left(key_sfi=key_sfi)
        if tries == 1 and not confirmed:
            raise PinConfirmationRequired(tries_left=1)
        _data, sw = self.transmit(apdu.verify(pin=pin.encode("ascii"), sfi=key_sfi))
        if sw == apdu.SW_OK:
            return
        if sw in (0x63C0, 0x6984, 0x6983):
            raise CardBlockedError
        if sw & 0xFFF0 == 0x63C0:
            raise WrongPinError(tries_left=sw & 0x0F)
        raise CardError(details_sw=f"{sw:04X}")

    # ------------------------------------------------------------------ files
    def read_ef(self, sfi: int) -> bytes:
        """Read a BER-TLV file named by SFI: as few APDUs as the card allows; trailing filler dropped
        for files longer than one chunk (files of up to 256 bytes come back whole, as the card keeps them)."""
        if self.extended:
            data, sw = self.transmit(apdu.read_binary(sfi=sfi, le=65536, extended=True))
            if sw == apdu.SW_OK:
                return data
            if sw != 0x6700:
                self._raise_for_read(sw)
            self.extended = False
        data, sw = self.transmit(apdu.read_binary(sfi=sfi, le=256))
        if sw != apdu.SW_OK:
            self._raise_for_read(sw)
        try:
            total = ber.header_total(data)
        except ber.BerError:
            return data
        while len(data) < total:
            chunk, sw = self.transmit(apdu.read_binary(offset=len(data), le=min(256, total - len(data))))
            if sw != apdu.SW_OK or not chunk:
                self._raise_for_read(sw)
            data += chunk
        return data

    def _raise_for_read(self, sw: int) -> None:
        if sw == 0x6982:
            raise CardError("暗証番号の照合が済んでいないため読み取れません。", details_sw=f"{sw:04X}")
        raise CardError(details_sw=f"{sw:04X}")

    def read_basic4(self) -> bytes:
        return self.read_ef(apdu.EF_BASIC4)

    def read_integrity(self) -> bytes:
        return self.read_ef(apdu.EF_INTEGRITY)

    def read_certificate(self) -> bytes:
        return self.read_ef(apdu.EF_CERTIFICATE)

    def read_my_number(self) -> bytes:
        """The 個人番号 file (17 bytes physical). Only for procedures that need it; the caller audits it."""
        return self.read_ef(apdu.EF_MY_NUMBER)

    def read_card(self, pin: str, *, confirmed: bool = False, with_my_number: bool = False) -> RawCardRead:
        """SELECT the 券面事項入力補助AP, verify the PIN once, read what the server needs to verify."""
        self.select_kenhojo()
        self.verify_pin(pin, confirmed=confirmed)
        basic4 = self.read_basic4()
        integrity = self.read_integrity()
        certificate = self.read_certificate()
        my_number = self.read_my_number() if with_my_number else None
        return RawCardRead(basic4=basic4, integrity=integrity, certificate=certificate, my_number=my_number)

    # ------------------------------------------------------------------ JPKI (公的個人認証AP)
    def read_jpki_auth_certificate(self) -> bytes:
        """利用者証明用電子証明書 (DER), readable without a PIN."""
        self.select(apdu.AID_JPKI)
        return _trim_der(self.read_ef(apdu.EF_JPKI_AUTH_CERT))

    def jpki_auth_sign(self, *, pin: str, digest: bytes, confirmed: bool = False) -> bytes:
        """Have the card sign a SHA-256 digest with the 利用者証明用 key (PKCS#1 v1.5)."""
        if len(digest) != 32:
            raise ValueError("a SHA-256 digest is 32 bytes")
        self.select(apdu.AID_JPKI)
        self.verify_pin(pin, confirmed=confirmed, key_sfi=apdu.EF_JPKI_AUTH_PIN)
        data, sw = self.transmit(apdu.compute_signature(digest_info=apdu.SHA256_DIGEST_INFO_PREFIX + digest,
                                                        sfi=apdu.EF_JPKI_AUTH_KEY))
        if sw != apdu.SW_OK:
            raise CardError(details_sw=f"{sw:04X}")
        return data


def _trim_der(data: bytes) -> bytes:
    try:
        return data[:ber.header_total(data)]
    except ber.BerError:
        return data

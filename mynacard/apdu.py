"""ISO 7816-4 command APDUs (short and extended) and the status words this card uses.

Django-free: shared by the reader library, the station agent and the software card.
"""

from __future__ import annotations

from dataclasses import dataclass

# Application identifiers (mynacard-protocol.md §1).
AID_KENHOJO = bytes.fromhex("D3921000310001010408")  # 券面事項入力補助AP
AID_JPKI = bytes.fromhex("D392F000260100000001")  # 公的個人認証AP

# 券面事項入力補助AP files (§3.1).
EF_MY_NUMBER = 0x0001
EF_BASIC4 = 0x0002
EF_INTEGRITY = 0x0003
EF_CERTIFICATE = 0x0004
EF_KENHOJO_PIN = 0x0011
# 公的個人認証AP files (§4.1).
EF_JPKI_TOKEN = 0x0006
EF_JPKI_AUTH_CERT = 0x000A
EF_JPKI_AUTH_CA = 0x000B
EF_JPKI_SIGN_CERT = 0x0001
EF_JPKI_SIGN_CA = 0x0002
EF_JPKI_AUTH_KEY = 0x0017
EF_JPKI_AUTH_PIN = 0x0018
EF_JPKI_SIGN_KEY = 0x001A
EF_JPKI_SIGN_PIN = 0x001B

SW_OK = 0x9000

# DER DigestInfo prefix for SHA-256 (§4.3).
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300D060960864801650304020105000420")


def command(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None,
            *, extended: bool = False) -> bytes:
    """Encode a command APDU. ``le`` is the number of bytes expected (256 short / 65536 extended = 'all')."""
    header = bytes([cla, ins, p1, p2])
    if len(data) > 255 or (le is not None and le > 256):
        extended = True
    if not extended:
        body = b""
        if data:
            body += bytes([len(data)]) + data
        if le is not None:
            body += bytes([le & 0xFF])  # 256 -> 00
        return header + body
    body = b""
    if data:
        body += b"\x00" + len(data).to_bytes(2, "big") + data
        if le is not None:
            body += (le & 0xFFFF).to_bytes(2, "big")  # 65536 -> 0000
    elif le is not None:
        body += b"\x00" + (le & 0xFFFF).to_bytes(2, "big")
    return header + body


def select_aid(aid: bytes) -> bytes:
    return command(0x00, 0xA4, 0x04, 0x0C, aid)


def select_ef(fid: int) -> bytes:
    return command(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big"))


def read_binary(*, offset: int = 0, le: int = 256, sfi: int | None = None, extended: bool = False) -> bytes:
    if sfi is not None:
        if offset > 0xFF:
            raise ValueError("an SFI read takes an 8-bit offset")
        return command(0x00, 0xB0, 0x80 | sfi, offset, le=le, extended=extended)
    if offset > 0x7FFF:
        raise ValueError("offset beyond 15 bits")
    return command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=le, extended=extended)


def verify(*, pin: bytes | None, sfi: int | None = None) -> bytes:
    """VERIFY against the current EF (P2=80) or a named key (P2=80|SFI); no data = ask tries left."""
    p2 = 0x80 | (sfi or 0)
    return command(0x00, 0x20, 0x00, p2, pin or b"")


def compute_signature(*, digest_info: bytes, sfi: int) -> bytes:
    return command(0x80, 0x2A, 0x00, 0x80 | sfi, digest_info, le=256)


@dataclass(frozen=True)
class ParsedCommand:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    le: int | None  # None: no response data expected
    extended: bool


class MalformedCommand(ValueError):
    pass


def parse_command(raw: bytes) -> ParsedCommand:
    """Decode an ISO 7816-4 command APDU (cases 1, 2S/2E, 3S/3E, 4S/4E)."""
    if len(raw) < 4:
        raise MalformedCommand("shorter than a header")
    cla, ins, p1, p2 = raw[:4]
    body = raw[4:]
    if not body:
        return ParsedCommand(cla, ins, p1, p2, b"", None, False)
    if len(body) == 1:
        return ParsedCommand(cla, ins, p1, p2, b"", body[0] or 256, False)
    if body[0] != 0:
        lc = body[0]
        if len(body) == 1 + lc:
            return ParsedCommand(cla, ins, p1, p2, body[1:], None, False)
        if len(body) == 2 + lc:
            return ParsedCommand(cla, ins, p1, p2, body[1:1 + lc], body[-1] or 256, False)
        raise MalformedCommand("Lc does not match the length")
    if len(body) == 3:
        return ParsedCommand(cla, ins, p1, p2, b"", int.from_bytes(body[1:3], "big") or 65536, True)
    lc = int.from_bytes(body[1:3], "big")
    if lc == 0:
        raise MalformedCommand("extended Lc of zero")
    if len(body) == 3 + lc:
        return ParsedCommand(cla, ins, p1, p2, body[3:], None, True)
    if len(body) == 5 + lc:
        return ParsedCommand(cla, ins, p1, p2, body[3:3 + lc], int.from_bytes(body[-2:], "big") or 65536, True)
    raise MalformedCommand("extended Lc does not match the length")

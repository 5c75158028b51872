"""A lenient BER-TLV walker for the My Number card's files (mynacard-protocol.md §2).

The card writes things a strict DER decoder refuses: the non-minimal high tag ``FF 10``, non-minimal
long lengths such as ``82 00 9F``, and files padded with ``FF`` filler after the last object. This
walker accepts all of them and reports a truncated object instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass


class BerError(ValueError):
    pass


@dataclass(frozen=True)
class Tlv:
    tag: int  # the tag bytes as an integer, e.g. 0xFF20, 0xDF21, 0x7F21
    start: int  # offset of the tag's first byte
    value_start: int
    end: int  # offset just after the value

    @property
    def length(self) -> int:
        return self.end - self.value_start


def read_header(data: bytes, offset: int = 0) -> tuple[int, int, int]:
    """Return (tag, value_start, value_length) of the TLV at ``offset``; raise if the header is cut."""
    pos = offset
    if pos >= len(data):
        raise BerError("no tag")
    first = data[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise BerError("tag cut short")
            byte = data[pos]
            tag = (tag << 8) | byte
            pos += 1
            if not byte & 0x80:
                break
            if pos - offset > 4:
                raise BerError("tag longer than 4 bytes")
    if pos >= len(data):
        raise BerError("length missing")
    first_len = data[pos]
    pos += 1
    if first_len < 0x80:
        length = first_len
    elif first_len == 0x80:
        raise BerError("indefinite length is not used on this card")
    else:
        count = first_len & 0x7F
        if count > 3 or pos + count > len(data):
            raise BerError("long-form length cut short")
        length = int.from_bytes(data[pos:pos + count], "big")  # non-minimal forms (82 00 xx) accepted
        pos += count
    return tag, pos, length


def header_total(data: bytes) -> int:
    """Total size (header + value) of the TLV starting at byte 0, from its header alone."""
    _tag, value_start, length = read_header(data, 0)
    return value_start + length


def parse(data: bytes, offset: int = 0) -> Tlv:
    tag, value_start, length = read_header(data, offset)
    end = value_start + length
    if end > len(data):
        raise BerError(f"tag {tag:X}: value runs past the data ({end} > {len(data)})")
    return Tlv(tag, offset, value_start, end)


def children(data: bytes, parent: Tlv) -> list[Tlv]:
    """The TLVs inside ``parent``'s value (no filler expected inside a constructed value)."""
    result = []
    pos = parent.value_start
    while pos < parent.end:
        child = parse(data[:parent.end], pos)
        result.append(child)
        pos = child.end
    return result


def find(data: bytes, parent: Tlv, tag: int) -> Tlv | None:
    for child in children(data, parent):
        if child.tag == tag:
            return child
    return None


def encode_length(length: int, *, form: str = "minimal") -> bytes:
    """Encode a length; ``form='82'`` writes the non-minimal two-byte form the card sometimes uses."""
    if form == "82":
        return b"\x82" + length.to_bytes(2, "big")
    if length < 0x80:
        return bytes([length])
    if length < 0x100:
        return b"\x81" + bytes([length])
    if length < 0x10000:
        return b"\x82" + length.to_bytes(2, "big")
    raise ValueError("length too large")


def encode(tag: int, value: bytes, *, form: str = "minimal") -> bytes:
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    return tag_bytes + encode_length(len(value), form=form) + value

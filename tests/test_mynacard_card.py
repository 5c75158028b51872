"""The reader library and verification through the real PC/SC stack.

pcscd + vsmartcard-vpcd + the software card (``python -m mynacard.emulator``) + pyscard: every test
here sends real APDUs through pcscd to the software card. Expected values come from the card layout
of mynacard-protocol.md (§3) and the persona put on the card, never from what the reader returned.
"""

from __future__ import annotations

import pytest

from mynacard import cardfiles
from mynacard.errors import (
    CardBlockedError,
    CardRemovedError,
    NoCardError,
    NoReaderError,
    NotMyNumberCardError,
    PinConfirmationRequired,
    WrongPinError,
)
from mynacard.reader import CardReader
from mynacard.verify import verify_card


def _read(card, pin="1234", **kwargs):  # noqa: ANN001
    with CardReader(card.reader_name).wait_for_card(timeout=10) as session:
        raw = session.read_card(pin, **kwargs)
        return raw, session.log


def _tries(card) -> int:  # noqa: ANN001
    with CardReader(card.reader_name).wait_for_card(timeout=10) as session:
        session.select_kenhojo()
        return session.pin_tries_left()


def test_reads_and_verifies_the_four_items_with_mj_characters(software_card, trust_anchors):
    persona = software_card.load(name="𠮷田　髙子", address="東京都千代田区霞が関２丁目１番１号", birth_date="19920315",
                                 sex="2")
    raw, log = _read(software_card)
    result = verify_card(raw, trust_anchors)
    assert result.verified, result
    assert result.basic4.name == "𠮷田　髙子" and "\U00020bb7" in result.basic4.name
    assert (result.basic4.address, result.basic4.birth_date, result.basic4.sex) == (
        persona["address"], "19920315", "2")
    assert result.my_number is None
    # SELECT AP, tries, VERIFY, and one extended READ BINARY per file; the 個人番号 file (SFI 1) untouched.
    assert log.count == 6
    assert not any(entry.command.startswith("00B081") for entry in log.entries)
    # The APDU log never carries the PIN.
    assert all("31323334" not in line for line in log.lines())
    assert any(entry.command.startswith("0020009104") and entry.command.endswith("********") for entry in log.entries)


def test_my_number_only_through_the_explicit_call_and_checked_against_df31(software_card, trust_anchors):
    software_card.load(my_number="234567890121")
    raw, log = _read(software_card, with_my_number=True)
    result = verify_card(raw, trust_anchors)
    assert result.verified and result.my_number == "234567890121"
    assert log.count == 7
    # A 個人番号 file that does not match DF31 is refused.
    forged = raw.__class__(basic4=raw.basic4, integrity=raw.integrity, certificate=raw.certificate,
                           my_number=cardfiles.build_my_number("123456789018"))
    assert verify_card(forged, trust_anchors).reason == "tampered"


def test_wrong_pin_decrements_and_reports_the_tries_left(software_card, trust_anchors):
    software_card.load(pin="2580")
    with pytest.raises(WrongPinError) as error:
        _read(software_card, pin="1111")
    assert error.value.tries_left == 2
    assert "あと2回" in error.value.message
    assert _tries(software_card) == 2  # asked without consuming a try
    with pytest.raises(WrongPinError) as error:
        _read(software_card, pin="1112")
    assert error.value.tries_left == 1
    # Counters survive removal (power cycle) ...
    software_card.remove()
    software_card.insert()
    assert _tries(software_card) == 1
    # ... and the right PIN (after the staff confirmation) resets them.
    raw, _log = _read(software_card, pin="2580", confirmed=True)
    assert verify_card(raw, trust_anchors).verified
    assert _tries(software_card) == 3


def test_at_one_try_left_the_reader_refuses_without_confirmation(software_card):
    software_card.load(pin_tries=1)
    with CardReader(software_card.reader_name).wait_for_card() as session:
        with pytest.raises(PinConfirmationRequired):
            session.read_card("1234")
        # No VERIFY with a PIN was sent: only SELECT and the empty VERIFY asking for the tries.
        assert [e.command[:8] for e in session.log.entries] == ["00A4040C", "00200091"]
    assert _tries(software_card) == 1
    with CardReader(software_card.reader_name).wait_for_card() as session:
        with pytest.raises(CardBlockedError):  # confirmed, and wrong: the card is now blocked
            session.read_card("9999", confirmed=True)
        verifies = [e for e in session.log.entries if e.command.startswith("0020009104")]
        assert len(verifies) == 1  # never loops on VERIFY


def test_a_blocked_card(software_card):
    software_card.load(pin_tries=0)
    with CardReader(software_card.reader_name).wait_for_card() as session:
        with pytest.raises(CardBlockedError) as error:
            session.read_card("1234", confirmed=True)
        assert "ロック" in error.value.message
        assert not any(e.command.startswith("0020009104") for e in session.log.entries)


def test_tampered_basic4_under_the_old_signature_is_rejected(software_card, trust_anchors):
    software_card.load(tamper="basic4")
    raw, _log = _read(software_card)
    result = verify_card(raw, trust_anchors)
    assert not result.verified and result.reason == "tampered" and result.detail == "DF32"
    assert result.basic4 is None


def test_tampered_data_rehashed_under_the_old_signature_is_rejected(software_card, trust_anchors):
    software_card.load(tamper="rehash")
    raw, _log = _read(software_card)
    # The stored hash does match the data now ...
    integrity = cardfiles.parse_integrity(raw.integrity)
    assert integrity.hash_basic4 == cardfiles.sha256(cardfiles.parse_basic4(raw.basic4).hashed_region)
    # ... but the signature over DF31‖DF32 does not.
    result = verify_card(raw, trust_anchors)
    assert not result.verified and result.reason == "tampered" and result.detail == "DF33"


def test_a_certificate_from_an_unknown_ca_is_rejected(software_card, trust_anchors):
    software_card.load(issuer="rogue")
    raw, _log = _read(software_card)
    result = verify_card(raw, trust_anchors)
    assert not result.verified and result.reason == "unknown_issuer"
    software_card.load(issuer="forged")  # the trusted key id, signed by another key
    raw, _log = _read(software_card)
    assert verify_card(raw, trust_anchors).reason == "bad_certificate"


def test_a_card_removed_mid_read_gives_a_clear_error(software_card, trust_anchors):
    software_card.load()
    software_card.remove_after(4)  # SELECT, tries, VERIFY, 基本4情報 — then pulled out
    with pytest.raises(CardRemovedError) as error:
        _read(software_card)
    assert "外されました" in error.value.message
    software_card.insert()
    raw, _log = _read(software_card)
    assert verify_card(raw, trust_anchors).verified


@pytest.mark.parametrize("extended", [True, False])
@pytest.mark.parametrize("total", [256, 257, 300])
def test_256_byte_boundary_and_long_form_lengths(software_card, trust_anchors, extended, total):
    """EF 0002 written with the non-minimal ``82 00 xx`` / ``82 01 xx`` length, around the 256-byte chunk."""
    name = "渡邉󠄂　葛󠄁一"
    address = ""
    while True:  # grow the address one byte at a time until the object is exactly ``total`` bytes
        ef = cardfiles.build_basic4(name=name, address=address, birth_date="20010707", sex="1", length_form="82")
        if len(ef) >= total:
            break
        address += "あ" if total - len(ef) >= 4 else "1"
    assert len(ef) == total and ef[2] == 0x82
    software_card.load(name=name, address=address, birth_date="20010707", length_form="82", physical_size=600,
                       extended=extended)
    raw, log = _read(software_card)
    result = verify_card(raw, trust_anchors)
    assert result.verified, result
    assert (result.basic4.name, result.basic4.address) == (name, address)
    commands = [e.command for e in log.entries if e.sw == 0x9000]
    first = next(i for i, c in enumerate(commands) if c.startswith("00B082"))
    following = next(i for i, c in enumerate(commands) if c.startswith("00B083"))
    reads_of_basic4 = commands[first:following]
    if extended:
        assert len(reads_of_basic4) == 1
    else:
        # 256 bytes first (SFI 2), then the rest at offset 256 if the object is longer.
        assert len(reads_of_basic4) == (1 if total <= 256 else 2)
        assert all(len(c) == 10 for c in commands if c.startswith("00B0"))  # short APDUs only
        assert log.entries[3].sw == 0x6700  # the card refused the one extended attempt


def test_a_card_that_is_not_a_my_number_card(software_card):
    software_card.load(kind="other")
    with CardReader(software_card.reader_name).wait_for_card() as session:
        with pytest.raises(NotMyNumberCardError) as error:
            session.read_card("1234")
        assert "マイナンバーカードではありません" in error.value.message
        assert session.log.count == 1  # recognised by SELECT, nothing else sent


def test_no_reader_and_no_card(software_card):
    with pytest.raises(NoReaderError):
        with CardReader("存在しないリーダー").wait_for_card(timeout=0.2):
            pass
    software_card.load()
    software_card.remove()
    with pytest.raises(NoCardError) as error:
        with CardReader(software_card.reader_name).wait_for_card(timeout=0.5):
            pass
    assert "カードが置かれていません" in error.value.message

"""Measure a My Number card read + verification over the software card (issue 13).

Through the real stack: pcscd + vsmartcard-vpcd + ``python -m mynacard.emulator`` + pyscard. For each
mode it times ``wait_for_card`` (exclusive connect) + SELECT + tries + VERIFY + the three files
(+ the 個人番号 file where stated) + ``verify_card`` (certificate, DF33 signature, DF32/DF31 hashes),
and counts the APDUs exchanged and the bytes read.

Usage: .venv/bin/python bench/card_bench.py [--reads 30]
Needs pcscd running (bash .ci/pcscd.sh) and a free vpcd slot.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mynacard.reader import ApduLog, CardReader  # noqa: E402
from mynacard.slots import BASE_PORT, claim_slot, reader_name, vpcd_listening  # noqa: E402
from mynacard.testca import TestAuthority  # noqa: E402
from mynacard.trust import load_trust_anchors  # noqa: E402
from mynacard.verify import verify_card  # noqa: E402

PERSONA = {"name": "𠮷田　髙子", "address": "東京都千代田区霞が関２丁目１番１号", "birth_date": "19920315", "sex": "2",
           "my_number": "234567890121", "pin": "2468"}
LONG_ADDRESS = "北海道札幌市中央区北一条西二丁目一番地　札幌市役所本庁舎内　" * 3


def _card(workdir: Path, authority: Path, slot: int, persona: dict) -> subprocess.Popen:
    personas = workdir / "personas.json"
    personas.write_text(json.dumps([{"id": "bench", **persona}], ensure_ascii=False), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "mynacard.emulator", "--personas", str(personas), "--persona",
                             "bench", "--authority", str(authority), "--port", str(BASE_PORT + slot)],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    while (line := proc.stdout.readline().strip()) != "ready":
        if not line and proc.poll() is not None:
            raise RuntimeError("software card exited")
    reader = CardReader(reader_name(slot))
    deadline = time.monotonic() + 15
    while not reader.card_present():
        if time.monotonic() > deadline:
            raise RuntimeError("pcscd did not see the card")
        time.sleep(0.05)
    return proc


def _measure(slot: int, anchors: object, reads: int, pin: str, *, with_my_number: bool) -> dict:
    times, apdus, read_bytes = [], set(), set()
    for _ in range(reads):
        log = ApduLog()
        started = time.perf_counter()
        with CardReader(reader_name(slot)).wait_for_card(timeout=5, log=log) as session:
            raw = session.read_card(pin, with_my_number=with_my_number)
        result = verify_card(raw, anchors)
        times.append(time.perf_counter() - started)
        assert result.verified, result
        apdus.add(log.count)
        read_bytes.add(log.bytes_read)
    times.sort()
    return {"median_ms": statistics.median(times) * 1000, "p95_ms": times[int(len(times) * 0.95) - 1] * 1000,
            "max_ms": times[-1] * 1000, "apdus": sorted(apdus), "bytes": sorted(read_bytes)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=30)
    args = parser.parse_args()
    if not vpcd_listening():
        sys.exit("pcscd with vsmartcard-vpcd is not running: bash .ci/pcscd.sh")
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-card-bench-"))
    authority = TestAuthority(workdir / "authority")
    anchors = load_trust_anchors(authority.anchors, allow_test=True)
    slot, _lock = claim_slot()
    modes = [
        ("extended APDUs, 4 items", PERSONA, False),
        ("extended APDUs, 4 items + 個人番号", PERSONA, True),
        ("short APDUs (card without extended length), 4 items", {**PERSONA, "extended": False}, False),
        ("short APDUs, 基本4情報 of 300+ bytes (2 chunks)", {**PERSONA, "extended": False,
                                                            "address": LONG_ADDRESS, "length_form": "82"}, False),
    ]
    print(f"reader {reader_name(slot)}, {args.reads} reads per mode (read + verify, wait_for_card included)")
    print(f"{'mode':58} {'median':>8} {'p95':>8} {'max':>8} {'APDUs':>6} {'bytes':>6}")
    for label, persona, with_my_number in modes:
        proc = _card(workdir, authority.root, slot, persona)
        try:
            figures = _measure(slot, anchors, args.reads, persona["pin"], with_my_number=with_my_number)
        finally:
            proc.stdin.write("quit\n")
            proc.stdin.flush()
            proc.wait(timeout=10)
        print(f"{label:58} {figures['median_ms']:7.1f}ms {figures['p95_ms']:7.1f}ms {figures['max_ms']:7.1f}ms "
              f"{'/'.join(map(str, figures['apdus'])):>6} {'/'.join(map(str, figures['bytes'])):>6}")


if __name__ == "__main__":
    main()

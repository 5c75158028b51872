"""vpcd reader slots: pcscd + vsmartcard-vpcd offer "Virtual PCD 00 0n" on TCP 35963+n (two slots).

Whoever puts a software card into a slot (tests, ``make run``'s demo, bench/card_bench.py) first takes an
exclusive lock on that slot, so two processes never drive the same virtual reader. Django-free.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import IO

BASE_PORT = 35963
SLOTS = 2
LOCK_DIR = Path(tempfile.gettempdir())


def reader_name(slot: int) -> str:
    return f"Virtual PCD 00 {slot:02d}"


def vpcd_listening(port: int = BASE_PORT) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def claim_slot(timeout: float = 300.0) -> tuple[int, IO]:
    """Lock a free slot for this process (held until the returned file is closed or the process ends)."""
    deadline = time.monotonic() + timeout
    while True:
        for slot in range(SLOTS):
            handle = open(LOCK_DIR / f"madoguchi-vpcd-slot-{slot}.lock", "w")  # noqa: SIM115
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            handle.write(str(os.getpid()))
            handle.flush()
            return slot, handle
        if time.monotonic() > deadline:
            raise RuntimeError("no free vpcd slot (both are in use by other processes)")
        time.sleep(0.5)

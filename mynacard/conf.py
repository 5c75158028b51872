"""Trust anchors and the revocation source from settings (cached per directory and its contents)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings

from mynacard.jpki import REVOCATION_SOURCES, RevocationSource
from mynacard.trust import TrustAnchors, load_trust_anchors


def _stamp(root: Path) -> tuple:
    if not root.is_dir():
        return ()
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()))


@lru_cache(maxsize=8)
def _anchors(root: str, allow_test: bool, stamp: tuple) -> TrustAnchors:
    return load_trust_anchors(root, allow_test=allow_test)


def trust_anchors() -> TrustAnchors:
    root = Path(settings.MYNACARD_TRUST_DIR)
    return _anchors(str(root), bool(settings.MYNACARD_ALLOW_TEST_ANCHORS), _stamp(root))


def revocation_source() -> RevocationSource:
    anchors = trust_anchors()
    return REVOCATION_SOURCES[settings.MYNACARD_REVOCATION](anchors.crl_dir)

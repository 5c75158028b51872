"""Whether a person holds a My Number card — one fact, three sources, in this order:

1. the mirror's card status, where the core system delivers it (an eligibility record of 住民基本台帳 whose
   kind names the card; see ``navigation.facts.card_status_from_records``);
2. a card read at the counter, through a *provider* registered here (the My Number card app registers one
   that answers from its reads: ``register_provider("mynacard", fn)``);
3. otherwise unknown: the rules then ask ``card_holding`` (only when the answer can change the result —
   a holder may not have brought the card).

A provider is ``fn(*, case, person) -> bool | None`` (``case`` the ``navigation.cases`` Case, ``person`` its
CasePerson); it returns None when it does not know. Providers are asked in registration order; the first
answer that is not None wins. They must be cheap (they run on every determination) and must not raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Provider = Callable[..., "bool | None"]
_PROVIDERS: dict[str, Provider] = {}


def register_provider(name: str, fn: Provider) -> None:
    """Register (or replace) the card-read provider ``name``."""
    _PROVIDERS[name] = fn


def unregister_provider(name: str) -> None:
    _PROVIDERS.pop(name, None)


def providers() -> list[str]:
    return list(_PROVIDERS)


def card_holding(*, mirror_status: bool | None, case: Any, person: Any) -> tuple[bool | None, str]:
    """(holding, source): ``source`` is ``"mirror"``, the provider's name, or ``""`` when unknown."""
    if mirror_status is not None:
        return mirror_status, "mirror"
    for name, fn in list(_PROVIDERS.items()):
        try:
            value = fn(case=case, person=person)
        except Exception:  # a broken provider must not stop the counter: fall back to asking
            logger.exception("card holding provider %s failed", name)
            continue
        if value is not None:
            return bool(value), name
    return None, ""

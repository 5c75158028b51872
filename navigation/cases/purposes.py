"""What a case was for, besides its life events: a registry other apps add to.

A case closes as 完了 only if it was for something: a life event, or what another app records in the case
(the forms app registers the 証明書の交付請求). Otherwise staff give a reason (issue 17 item 6). Providers
are registered from ``AppConfig.ready`` and return short Japanese descriptions (``住民票の写し 2通``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PurposeProvider = Callable[[Any], list[str]]
_providers: dict[str, PurposeProvider] = {}


def register(name: str, provider: PurposeProvider) -> None:
    _providers[name] = provider


def case_purposes(case: Any) -> list[str]:
    """Every registered provider's descriptions of what ``case`` was for (life events excluded)."""
    found: list[str] = []
    for _name, provider in sorted(_providers.items()):
        found.extend(provider(case))
    return found

"""Registry of what a staff member can do, shown on the home page and in the navigation.

Each app registers its entries in ``AppConfig.ready``; an entry is shown only when its ``allowed``
predicate accepts the user and the municipality subscribes to its business area (if it has one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class MenuEntry:
    key: str
    label: str
    url_name: str
    description: str = ""
    section: str = "業務"
    order: int = 100
    allowed: Callable[[object], bool] = lambda user: True
    area: str | None = None


_entries: dict[str, MenuEntry] = {}


def register(entry: MenuEntry) -> None:
    _entries[entry.key] = entry


def entries_for(*, user: object, municipality: object) -> list[dict]:
    visible = []
    for entry in sorted(_entries.values(), key=lambda e: (e.order, e.key)):
        if not getattr(user, "is_authenticated", False) or not entry.allowed(user):
            continue
        if entry.area and municipality is not None and not municipality.has_area(entry.area):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        visible.append({"key": entry.key, "label": entry.label, "url": url, "description": entry.description,
                        "section": entry.section})
    return visible

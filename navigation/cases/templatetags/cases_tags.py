from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from integration.models import ResidentStatus, Sex

register = template.Library()


@register.filter
def get_item(mapping: object, key: object) -> object:
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.filter
def answer_value(value: object) -> str:
    if value is True:
        return _("はい")
    if value is False:
        return _("いいえ")
    return str(value)


@register.filter
def resident_status(value: str) -> str:
    return dict(ResidentStatus.choices).get(value, value)


@register.filter
def sex_label(value: str) -> str:
    return dict(Sex.choices).get(value, value or "-")


@register.filter
def wareki(value: object) -> str:
    """A date in 和暦 for staff, beside the 西暦 (``昭和45年1月2日``; the first year of an era is 元年)."""
    import re
    from datetime import date

    from integration.dates import to_wareki

    if not isinstance(value, date):
        return ""
    try:
        text = to_wareki(value, style="kanji")
    except ValueError:
        return ""
    return re.sub(r"^(\D+)1年", r"\g<1>元年", text)


@register.filter
def open_count(procedures: object) -> int:
    """Procedures still to do (未対応・対応中) among ``procedures``."""
    return sum(1 for p in procedures or [] if getattr(p, "determined", False) and p.status in ("todo", "doing"))

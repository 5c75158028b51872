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

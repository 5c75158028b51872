from django import template
from django.utils.translation import gettext

from mynacard.jpki import REASONS as JPKI_REASONS
from mynacard.verify import REASONS as CARD_REASONS

register = template.Library()


@register.filter
def card_reason(code: str) -> str:
    return gettext(CARD_REASONS.get(code, CARD_REASONS["bad_data"]))


@register.filter
def jpki_reason(code: str) -> str:
    return gettext(JPKI_REASONS.get(code, JPKI_REASONS["bad_certificate"]))

"""Template helpers for staff screens: show the code point(s) of a character (外字の確認)."""

from __future__ import annotations

from django import template

from integration.gaiji import describe_code

register = template.Library()


@register.filter
def codepoints(value: str) -> str:
    """``葛󠄂`` → ``U+845B U+E0102``."""
    return describe_code(value or "")

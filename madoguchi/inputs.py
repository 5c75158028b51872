"""Untrusted input that every screen and API reads the same way: JSON text and calendar dates.

- ``json_loads`` refuses JSON nested deeper than ``MAX_JSON_DEPTH`` or longer than its size limit
  *before* Python's parser recurses (deep nesting made ``json.loads`` raise ``RecursionError``, a 500),
  refuses ``NaN``/``Infinity``, and reports every problem as ``JSONInputError`` with a Japanese message
  that names the field. Every JSON parse of outside input goes through here (a test checks the source).
- ``JSONTextField`` / ``JSONFileField`` are the form fields for JSON typed into a textarea or uploaded.
- Dates entered by people or systems must lie in ``DATE_MIN``–``DATE_MAX``: 9999-12-31 passed every
  parser and then overflowed the first ``+ 1 day``. ``InputDateField`` (forms), ``ApiDateField`` (DRF)
  and ``parse_input_date`` (query parameters) enforce the range with a message naming the field.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from rest_framework import serializers

MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 2 * 1024 * 1024  # a request body (DATA_UPLOAD_MAX_MEMORY_SIZE is 2.5 MB)
MAX_JSON_FILE_BYTES = 10 * 1024 * 1024  # an uploaded definition (catalogue, layout)

# 明治元年 (the earliest 和暦 date a form prints) to a year far beyond any validity period; dates outside
# are typing errors, and staying far from date.max leaves room for every "+ n days" in the code.
DATE_MIN = date(1868, 1, 1)
DATE_MAX = date(2999, 12, 31)

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JSONInputError(ValueError):
    """JSON that cannot be accepted; ``message`` is Japanese and names the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _subject(field: str) -> str:
    return _("「%(field)s」") % {"field": field} if field else _("JSON")


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects nest deeper than ``limit`` (brackets inside strings do not count)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _reject_constant(name: str) -> None:
    raise ValueError(_("%(name)s は使えません") % {"name": name})


def json_loads(raw: str | bytes, *, field: str = "", max_bytes: int = MAX_JSON_BYTES,
               max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse untrusted JSON; ``JSONInputError`` (Japanese, naming ``field``) for anything unacceptable."""
    subject = _subject(field)
    if len(raw) > max_bytes:
        raise JSONInputError(_("%(subject)sが大きすぎます（%(limit)s バイトまで）。")
                             % {"subject": subject, "limit": f"{max_bytes:,}"})
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise JSONInputError(_("%(subject)sはUTF-8で送ってください。") % {"subject": subject}) from None
    if json_depth_exceeds(raw, max_depth):
        raise JSONInputError(_("%(subject)sの入れ子が深すぎます（%(limit)d 段まで）。")
                             % {"subject": subject, "limit": max_depth})
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
        # A lone surrogate ("\ud800") is valid JSON but no Unicode text; PostgreSQL's jsonb refuses it.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except UnicodeEncodeError:
        raise JSONInputError(_("%(subject)sに文字として読めない値（対になっていないサロゲート）があります。")
                             % {"subject": subject}) from None
    except json.JSONDecodeError as exc:
        raise JSONInputError(_("%(subject)sをJSONとして読めません（%(line)d行 %(col)d文字目：%(msg)s）。")
                             % {"subject": subject, "line": exc.lineno, "col": exc.colno, "msg": exc.msg}) from None
    except (ValueError, RecursionError) as exc:  # a constant, an integer of more than 4300 digits
        raise JSONInputError(_("%(subject)sをJSONとして読めません（%(msg)s）。")
                             % {"subject": subject, "msg": exc}) from None


def expect_json_type(value: Any, expected: type | tuple[type, ...], *, field: str = "") -> Any:
    """``value`` if it is of ``expected`` (dict → オブジェクト, list → 配列), else ``JSONInputError``."""
    if isinstance(value, expected):
        return value
    names = {dict: _("オブジェクト（{…}）"), list: _("配列（[…]）"), str: _("文字列")}
    wanted = "・".join(names.get(t, t.__name__) for t in (expected if isinstance(expected, tuple) else (expected,)))
    raise JSONInputError(_("%(subject)sは%(wanted)sで入力してください。")
                         % {"subject": _subject(field), "wanted": wanted})


class JSONTextField(forms.CharField):
    """JSON typed into a textarea: parsed safely, optionally of one type; the label names the field."""

    widget = forms.Textarea

    def __init__(self, *args: Any, expected: type | tuple[type, ...] | None = None, empty: Any = None,
                 **kwargs: Any) -> None:
        self.expected, self.empty = expected, empty
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> Any:
        text = (super().clean(value) or "").strip()
        if not text:
            return self.empty() if callable(self.empty) else self.empty
        label = str(self.label or "")
        try:
            parsed = json_loads(text, field=label)
            return parsed if self.expected is None else expect_json_type(parsed, self.expected, field=label)
        except JSONInputError as exc:
            raise forms.ValidationError(exc.message, code="json") from None


class JSONFileField(forms.FileField):
    """An uploaded JSON document; ``cleaned_data`` holds the parsed value (never a half-read file)."""

    def __init__(self, *args: Any, expected: type | tuple[type, ...] | None = dict,
                 max_bytes: int = MAX_JSON_FILE_BYTES, **kwargs: Any) -> None:
        self.expected, self.max_bytes = expected, max_bytes
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        upload = super().clean(data, initial)
        if upload is None or upload is False:
            return upload
        label = str(self.label or "")
        content = upload.read(self.max_bytes + 1)
        try:
            parsed = json_loads(content, field=label, max_bytes=self.max_bytes)
            return parsed if self.expected is None else expect_json_type(parsed, self.expected, field=label)
        except JSONInputError as exc:
            raise forms.ValidationError(exc.message, code="json") from None


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------
def date_range_message(field: str = "") -> str:
    return _("%(subject)sは %(min)s から %(max)s までの日付で入力してください。") % {
        "subject": _("「%(field)s」") % {"field": field} if field else _("日付"),
        "min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()}


def date_in_range(value: date | None) -> bool:
    return value is None or DATE_MIN <= value <= DATE_MAX


def parse_input_date(raw: str, *, field: str) -> date:
    """A ``YYYY-MM-DD`` query parameter; ``ValueError`` with a Japanese message naming ``field``."""
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(_("「%(field)s」は日付（YYYY-MM-DD）で指定してください。") % {"field": field}) from None
    if not date_in_range(value):
        raise ValueError(date_range_message(field))
    return value


class InputDateField(forms.DateField):
    """A form date limited to DATE_MIN–DATE_MAX."""

    def validate(self, value: date | None) -> None:
        super().validate(value)
        if not date_in_range(value):
            raise forms.ValidationError(date_range_message(str(self.label or "")), code="date_range")


class ApiDateField(serializers.DateField):
    """A DRF date limited to DATE_MIN–DATE_MAX (the error sits under the field's name)."""

    default_error_messages = {"date_range": _lazy("{min} から {max} までの日付で指定してください。")}

    def to_internal_value(self, value: Any) -> date:
        result = super().to_internal_value(value)
        if not date_in_range(result):
            self.fail("date_range", min=DATE_MIN.isoformat(), max=DATE_MAX.isoformat())
        return result

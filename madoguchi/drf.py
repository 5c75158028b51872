"""REST framework policies shared by every API view (settings ``REST_FRAMEWORK``).

- ``SafeJSONParser`` is the only default parser: a JSON body goes through ``madoguchi.inputs.json_loads``
  (depth and size limits, Japanese message); a multipart or form body sent where JSON is expected is
  refused with 415 before any view code runs. Views that take uploads name their parsers themselves.
- ``exception_handler`` answers a Django ``ValidationError`` raised by a service as 400 with its
  messages under their field names, and rolls the request's transaction back like DRF does for its own
  errors, so nothing is half-written.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from madoguchi.inputs import JSONInputError, json_loads


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2 * 1024 * 1024
        raw = stream.read(limit + 1) if stream is not None else b""
        try:
            return json_loads(raw, field=_("リクエスト本文"), max_bytes=limit)
        except JSONInputError as exc:
            raise exceptions.ParseError(exc.message) from None


# REST framework's Japanese catalogue is incomplete: an English message left untranslated is replaced by
# one of these, chosen by the error's code (the field it belongs to stays its key in the response).
JAPANESE_BY_CODE = {
    "required": "この項目は必須です。",
    "null": "この項目に null は指定できません。",
    "blank": "この項目は空にできません。",
    "invalid": "値の形式が正しくありません。",
    "not_a_list": "配列（[…]）で指定してください。",
    "not_a_dict": "オブジェクト（{…}）で指定してください。",
    "empty": "空にはできません。",
    "min_length": "要素が少なすぎます。",
    "max_length": "長すぎます。",
    "min_value": "値が小さすぎます。",
    "max_value": "値が大きすぎます。",
    "max_string_length": "値が大きすぎます。",
    "invalid_choice": "選択肢にない値です。",
    "does_not_exist": "該当するものがありません。",
    "incorrect_type": "値の型が正しくありません。",
    "date": "日付（YYYY-MM-DD）で指定してください。",
    "datetime": "日時で指定してください。",
    "parse_error": "リクエスト本文を読めません。",
}


def _has_japanese(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


def _japanese(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _japanese(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_japanese(value) for value in detail]
    if isinstance(detail, exceptions.ErrorDetail) and not _has_japanese(str(detail)):
        text = JAPANESE_BY_CODE.get(detail.code or "", "値が正しくありません。")
        return exceptions.ErrorDetail(_(text), code=detail.code)
    return detail


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        view = context.get("view")
        accepted = ", ".join(p.media_type for p in (view.get_parsers() if view is not None else []))
        exc = exceptions.UnsupportedMediaType(
            media_type="", detail=_("このAPIは Content-Type: %(accepted)s で送ってください"
                                    "（受け取った形式：%(received)s）。")
            % {"accepted": accepted or "application/json",
               "received": (context["request"].content_type or "-") if context.get("request") else "-"})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    response.data = _japanese(response.data)
    set_rollback()
    return response

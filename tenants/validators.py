"""全国地方公共団体コード (6 digits: prefecture 2 + 3 digits + check digit)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_SIX_DIGITS = re.compile(r"^[0-9]{6}$")
_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
RESERVED_SLUGS = frozenset({"ops", "www", "api", "admin", "public", "static", "tenant-template", "mail"})


def municipality_check_digit(first_five: str) -> int:
    """Check digit: digits 1-5 weighted 6,5,4,3,2; r = sum mod 11; check = last digit of (11 - r)."""
    total = sum(int(digit) * weight for digit, weight in zip(first_five, (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10


def validate_municipality_code(value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError("全国地方公共団体コードを入力してください。", code="required")
    if not value.isascii() or not value.isdigit():
        raise ValidationError(
            "全国地方公共団体コードは半角数字6桁で入力してください（数字以外の文字が含まれています）。",
            code="non_digit",
        )
    if not _SIX_DIGITS.match(value):
        raise ValidationError(
            "全国地方公共団体コードは6桁です（入力は%(length)d桁）。", code="length", params={"length": len(value)}
        )
    prefecture = int(value[:2])
    if not 1 <= prefecture <= 47:
        raise ValidationError("都道府県コード（先頭2桁）は01〜47です。", code="prefecture")
    expected = municipality_check_digit(value[:5])
    if int(value[5]) != expected:
        raise ValidationError(
            "全国地方公共団体コードの検査数字が正しくありません（6桁目は%(expected)dのはずです）。",
            code="check_digit",
            params={"expected": expected},
        )


def validate_slug(value: str) -> None:
    if not _SLUG.match(value or ""):
        raise ValidationError(
            "識別名は半角英小文字で始まる英小文字・数字・ハイフンの3〜32文字です。", code="slug_format"
        )
    if value in RESERVED_SLUGS:
        raise ValidationError("識別名「%(slug)s」は予約されています。", code="slug_reserved", params={"slug": value})


PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県",
    "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県",
    "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)


def prefecture_for_code(code: str) -> str:
    return PREFECTURES[int(code[:2]) - 1]

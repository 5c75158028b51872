"""Business areas (業務) a municipality can subscribe to (R1.4)."""

from __future__ import annotations

from django.db import models


class BusinessArea(models.TextChoices):
    JUKI = "juki", "住民基本台帳"
    INKAN = "inkan", "印鑑登録"
    KOSEKI = "koseki", "戸籍"
    ZEI = "zei", "税"
    KOKUHO = "kokuho", "国民健康保険"
    KAIGO = "kaigo", "介護保険"
    KOUKI = "kouki", "後期高齢者医療"
    JIDOU_TEATE = "jidou_teate", "児童手当"
    GAKUREIBO = "gakureibo", "学齢簿"


ALL_AREAS: tuple[str, ...] = tuple(BusinessArea.values)


def parse_areas(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """Parse ``juki,kokuho`` (or a list) into known area codes, in canonical order.

    Raises ValueError naming every unknown code.
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    codes = [item.strip() for item in items if item and item.strip()]
    unknown = [code for code in codes if code not in ALL_AREAS]
    if unknown:
        raise ValueError(
            f"未知の業務コード: {', '.join(unknown)}（使用できるコード: {', '.join(ALL_AREAS)}）"
        )
    return [code for code in ALL_AREAS if code in codes]

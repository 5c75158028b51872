"""The card read as a binding source of the application forms (R2.9) and as the navigation's card holding.

Registered from ``MynacardConfig.ready`` into the registries the other apps own
(``forms_builder.sources`` and ``navigation.cardholding``); neither app knows this one.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _lazy

from forms_builder.sources import NO_DATA, RESTRICTED, BindingContext, BindingSource, Resolved, SourceField
from mynacard import selectors


class CardSource(BindingSource):
    """What the verified card of the document's person says (name with its MJ characters as on the card)."""

    key = "card"
    label = _lazy("マイナンバーカード（読み取り）")
    fields = (
        SourceField("name", _lazy("氏名（カード）"), sample="𠮷田 花子"),
        SourceField("name_kana", _lazy("氏名のフリガナ（住民記録）"), sample="ヨシダ ハナコ"),
        SourceField("address", _lazy("住所（カード）"), kind="address", sample="みなみデモ市本町一丁目1番1号"),
        SourceField("birth_date", _lazy("生年月日（カード）"), kind="date", sample="1985-07-07"),
        SourceField("sex", _lazy("性別コード（カード）"), sample="2"),
        SourceField("sex_label", _lazy("性別（カード）"), sample="女"),
    )

    def resolve(self, ctx: BindingContext, name: str, *, row: Any = None) -> Resolved:
        person = row or ctx.person
        if ctx.case is None or person is None or ctx.staff is None:
            return Resolved(None, NO_DATA)
        if name == "address" and _address_withheld(ctx, person):
            # The same rule as the mirror's address (forms_builder.sources.PersonSource): a 支援措置 address is
            # never printed, even though the resident's own card carries it.
            return Resolved(None, RESTRICTED)
        cache_key = ("card", getattr(person, "atena_no", "") or getattr(person, "pk", ""))
        values = ctx.extra.get(cache_key)
        if values is None:
            values = selectors.card_binding_values(actor=ctx.staff, case_id=ctx.case.pk,
                                                   atena_no=getattr(person, "atena_no", "") or "")
            ctx.extra[cache_key] = values
        value = values.get(f"card.{name}")
        return Resolved(value, "" if value not in (None, "") else NO_DATA)


def _address_withheld(ctx: BindingContext, person: Any) -> bool:
    atena_no = getattr(person, "atena_no", "") or ""
    if getattr(person, "support_measure", False):
        return True
    if not atena_no:
        return False
    view = ctx.views.get(atena_no)
    if view is None:
        from integration.selectors import protected_among

        return atena_no in protected_among(atena_nos=[atena_no])[0]
    return bool(view.address_restricted)


def card_holding_provider(*, case: Any, person: Any) -> bool | None:
    """A verified card read at the counter says the person holds a card; otherwise this source does not know."""
    atena_no = getattr(person, "atena_no", "") or ""
    return True if atena_no and selectors.holds_card(atena_no=atena_no) else None


def install() -> None:
    from forms_builder.sources import register
    from navigation.cardholding import register_provider

    register(CardSource())
    register_provider("mynacard", card_holding_provider)

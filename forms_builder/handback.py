"""Item 9: the values staff typed for the forms enrich the one hand-back record closing the case already
sends (``navigation.cases.handback.ENRICHERS``) — for a 住民異動届 the new address, 方書 and 〒 and the
previous address. Never a second record: the hook only fills items the record left empty.

After the hand-back the same values can be corrected on the closed case (``navigation.cases.handback.CORRECTABLES``):
``correctables`` says which (番地, 方書, 〒 of the new address, 転出先, 転入前の住所), how each is validated (the
staff input's own rules) and which export items it feeds (the same mapping as ``enrich``); a correction stores the
new value in the case's staff input, so every document printed from now on shows it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from forms_builder import inputs as inputs_mod


def enrich(*, case: Any, kind: str, person: Any) -> dict[str, str]:
    if kind != "juki_idou":
        return {}
    from forms_builder.models import CaseEntry

    entries = {e.key: e.value for e in CaseEntry.objects.filter(case=case, person_key="")}
    events = set(case.events or [])
    result: dict[str, str] = {}
    new = entries.get("new_address")
    if events & {"tennyu", "tenkyo"} and isinstance(new, dict):
        result.update(new_address=inputs_mod.address_text(new), new_katagaki=new.get("katagaki", ""),
                      new_postcode=new.get("postcode", ""))
    if "tenshutsu" in events and entries.get("destination_address"):
        result["new_address"] = str(entries["destination_address"])
    if "tennyu" in events and entries.get("previous_address"):
        result["old_address"] = str(entries["previous_address"])
    return result


# (input key, part of an address value or "", label, the 住民異動届 item it feeds, events it applies to)
_CORRECTABLE = (
    ("new_address", "banchi", gettext_lazy("新住所の番地"), "new_address", ("tennyu", "tenkyo")),
    ("new_address", "katagaki", gettext_lazy("新住所の方書"), "new_katagaki", ("tennyu", "tenkyo")),
    ("new_address", "postcode", gettext_lazy("新住所の郵便番号"), "new_postcode", ("tennyu", "tenkyo")),
    ("destination_address", "", gettext_lazy("転出先の住所"), "new_address", ("tenshutsu",)),
    ("previous_address", "", gettext_lazy("転入前の住所"), "old_address", ("tennyu",)),
)


def correctables(*, case: Any) -> list[Any]:
    from forms_builder import selectors
    from forms_builder.models import CaseEntry
    from navigation.cases.handback import Correctable

    entries = {e.key: e.value for e in CaseEntry.objects.filter(case=case, person_key="")}
    events = set(case.events or [])
    fields = []
    for key, part, label, _item, on_events in _CORRECTABLE:
        entry = entries.get(key)
        item = inputs_mod.get(key)
        if entry in (None, "") or item is None or not events & set(on_events):
            continue
        if part and not isinstance(entry, dict):
            continue
        current = str(entry.get(part, "") if part else entry)

        def clean(raw: str, *, item: Any = item, part: str = part, entry: Any = entry, label: Any = label) -> str:
            if part:
                # the whole address is validated again with the corrected part (町字 from the master, 番地 required)
                value = inputs_mod.clean(item, {**entry, part: raw}, known_towns=selectors.town_choices())
                return str(value.get(part, ""))
            text = str(raw or "").strip()
            if not text:
                raise ValidationError(_("%(label)s：入力してください。") % {"label": label})
            return str(inputs_mod.clean(item, text))

        def items(value: str, *, part: str = part, entry: Any = entry, key: str = key) -> dict[str, str]:
            if part:
                new = {**entry, part: value}
                return {"new_address": inputs_mod.address_text(new), "new_katagaki": new.get("katagaki", ""),
                        "new_postcode": new.get("postcode", "")}
            return {"destination_address": {"new_address": value},
                    "previous_address": {"old_address": value}}[key]

        def store(*, actor: Any, value: str, key: str = key, part: str = part, entry: Any = entry) -> None:
            stored = {**entry, part: value} if part else value
            CaseEntry.objects.update_or_create(case=case, person_key="", key=key,
                                               defaults={"value": stored, "entered_by": actor})

        fields.append(Correctable(code=f"{key}.{part}" if part else key, label=str(label), value=current,
                                  kind="juki_idou", clean=clean, items=items, store=store,
                                  help=str(item.help or "")))
    return fields


def install() -> None:
    from navigation.cases import handback

    if enrich not in handback.ENRICHERS:
        handback.ENRICHERS.append(enrich)
    if correctables not in handback.CORRECTABLES:
        handback.CORRECTABLES.append(correctables)

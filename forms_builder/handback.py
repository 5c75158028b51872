"""Item 9: the values staff typed for the forms enrich the one hand-back record closing the case already
sends (``navigation.cases.handback.ENRICHERS``) — for a 住民異動届 the new address, 方書 and 〒 and the
previous address. Never a second record: the hook only fills items the record left empty."""

from __future__ import annotations

from typing import Any

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


def install() -> None:
    from navigation.cases import handback

    if enrich not in handback.ENRICHERS:
        handback.ENRICHERS.append(enrich)

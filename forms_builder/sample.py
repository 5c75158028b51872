"""The sample household of the layout editor (R2.7): fictitious people the binding picker and the live preview
resolve every binding for, through the real binding sources — so an admin sees what a field will print
(和暦, 続柄 wording, a 世帯主 that is not the document's person, a table row per person) without any resident's
data. Nothing here reads the mirror: the persons, their mirror views and the staff inputs are built in memory.

A source that needs real records (a card read needs a real case) answers nothing for the sample; the
field's own ``SourceField.sample`` is shown then, passed through the binding's filters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any

from django.db import connection
from django.utils import timezone

from forms_builder import inputs as inputs_mod
from forms_builder import sources as src
from integration.selectors import PersonView

logger = logging.getLogger(__name__)

# 世帯主, spouse, child: the same household, moving in (転入) together.
_MEMBERS = (
    {"name": "窓口 太郎", "name_kana": "マドグチ タロウ", "birth_date": date(1980, 5, 1), "sex": "1",
     "relationship": "世帯主", "is_visitor": True},
    {"name": "窓口 花子", "name_kana": "マドグチ ハナコ", "birth_date": date(1982, 8, 15), "sex": "2",
     "relationship": "妻", "is_visitor": False},
    {"name": "窓口 一郎", "name_kana": "マドグチ イチロウ", "birth_date": date(2017, 6, 10), "sex": "1",
     "relationship": "子", "is_visitor": False},
)
SAMPLE_HOUSEHOLD_NO = "800000019"


@dataclass
class SampleHousehold:
    ctx: src.BindingContext
    persons: list[Any]


def _entries(persons: list[Any]) -> dict[tuple[str, str], Any]:
    """Every staff input's sample, once for the case and once per person for per-person inputs."""
    entries: dict[tuple[str, str], Any] = {}
    prefix = getattr(getattr(connection, "tenant", None), "name", "") or ""
    for item in inputs_mod.all_inputs():
        value = item.sample
        if item.kind == "address" and isinstance(value, dict):
            value = {"prefix": prefix, "postcode": "8920816", **value}
        if value in ("", None):
            continue
        if item.scope == "person":
            for person in persons:
                entries[(person.key, item.key)] = value
        else:
            entries[("", item.key)] = value
    return entries


def household(*, staff: Any = None, counter: Any = None, on: date | None = None) -> SampleHousehold:
    """The sample household as a binding context (the document's person is the 世帯主)."""
    on = on or timezone.localdate()
    municipality = getattr(connection, "tenant", None)
    prefix = getattr(municipality, "name", "") or ""
    persons = []
    views = {}
    for index, member in enumerate(_MEMBERS, start=1):
        atena_no = f"99000000{index:02d}"
        person = SimpleNamespace(
            pk=-index, key=f"sample{index}", position=index, atena_no=atena_no, is_newcomer=False,
            is_subject=True, is_foreign=False, nationality="", support_measure=False,
            household_no=SAMPLE_HOUSEHOLD_NO, **member)
        persons.append(person)
        views[atena_no] = PersonView(
            atena_no=atena_no, household_no=SAMPLE_HOUSEHOLD_NO, name=member["name"],
            name_kana=member["name_kana"], birth_date=member["birth_date"], sex=member["sex"],
            relationship=member["relationship"], address=f"{prefix}山下町11番1号", address_katagaki="",
            postcode="8920816", address_code="0001001", status="resident", kind="japanese")
    eligibilities = {
        persons[0].atena_no: [SimpleNamespace(area="kokuho", number="12-345678")],
        persons[1].atena_no: [SimpleNamespace(area="kokuho", number="12-345679")],
    }
    # pk 0: no case has it (sequences start at 1), so a plugged-in source that looks records up by the case's
    # id finds nothing (``case_id=None`` would match rows without a case: real people's data in a sample).
    case = SimpleNamespace(pk=0, id=0, label="見本-001", events=["tennyu"], event_date=on, day=on,
                           answers={"case": {}, "persons": {}})
    ctx = src.BindingContext(
        case=case, persons=persons, doc_persons=persons, person=persons[0], counter=counter, staff=staff,
        municipality=municipality, on=on, template_code="", views=views, eligibilities=eligibilities,
        entries=_entries(persons), extra={"gaiji": {}, "procedures": []}, read_mirror=False)
    return SampleHousehold(ctx=ctx, persons=persons)


def value(sample: SampleHousehold, binding: str, *, row: Any = None) -> str:
    """What ``binding`` prints for the sample household (``row``: the person of a table row)."""
    source_key, name, filters = src.parse_binding(binding)
    source = src.get(source_key)
    if source is None or source.field(name) is None:
        return ""
    if source_key == "row" and row is None:
        row = sample.persons[0]
    try:
        resolved = src.resolve_binding(sample.ctx, binding, row=row)
    except Exception:  # a plugged-in source that needs real records (a card read needs a real case)
        logger.debug("sample value of %s fell back to the field's sample", binding, exc_info=True)
        resolved = src.Resolved(None)
    result = resolved.value
    if resolved.empty:
        result = source.field(name).sample
        try:
            for filter_name in filters:
                result = src.FILTERS[filter_name](result, sample.ctx)
        except (KeyError, ValueError, TypeError):
            result = ""
    if result is None:
        return ""
    if hasattr(result, "isoformat"):
        return result.isoformat()
    return str(result)


def catalogue(sample: SampleHousehold) -> list[dict[str, Any]]:
    """Every registered source field with its label and the sample household's value, for the binding picker."""
    rows = []
    for source in src.all_sources():
        for item in source.fields:
            binding = f"{source.key}.{item.name}"
            rows.append({"binding": binding, "source": str(source.label), "label": str(item.label),
                         "kind": item.kind, "sample": value(sample, binding)})
    return rows


def overrides(sample: SampleHousehold, fields: list[dict]) -> dict[str, str]:
    """The sample value of every bound field, keyed as the renderer's overrides (``key`` or ``key#row``)."""
    result: dict[str, str] = {}
    for spec in fields:
        if not isinstance(spec, dict):
            continue
        if spec.get("type") == "rows":
            for index, person in enumerate(sample.persons[: int(spec.get("rows") or 0)]):
                for column in spec.get("columns") or []:
                    if isinstance(column, dict) and column.get("binding") and column.get("key"):
                        result[f"{column['key']}#{index}"] = value(sample, str(column["binding"]), row=person)
            continue
        if spec.get("binding") and spec.get("key") and spec.get("type") != "signature":
            result[str(spec["key"])] = value(sample, str(spec["binding"]))
    return result

"""Procedures that are one act for the household (display only).

The determination stays per person: the engine decides, person by person, who needs 転入届, 国保の加入 …, and
each person keeps their own ``CaseProcedure`` row (hand-back, audit and the close summary count persons).
But some of those procedures are a single act at the counter for everyone it concerns: one 住民異動届 names
every member moving together and is filed once by the 世帯主 (or a member) for them (住民基本台帳法 第22条〜
第25条 with 第26条, 世帯主が世帯員に代わってする届出); one 国民健康保険の届出 is made by the 世帯主 for the
members joining or leaving (国民健康保険法 第9条, 国民健康保険法施行規則 第2条〜第3条); one 児童手当の認定請求 by
the claimant covers all the children (児童手当法 第7条). The case screen shows such a procedure once, with its
persons listed, and a status chosen there applies to every person's row.

The rule of grouping: rows of a code listed in ``HOUSEHOLD_ACTS``, for persons (not the case-wide rows), that
are still determined, in the charge of the same counter, are one act when there are two or more of them. A
code not listed (印鑑登録, マイナンバーカード, 学齢簿, 介護保険 … — one per person by nature) is never grouped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from navigation.cases.models import CaseProcedure

# code → why it is one act for the household (shown as a hint in docs; the list is the rule).
HOUSEHOLD_ACTS: dict[str, str] = {
    "juki_tennyu": "転入届は一緒に移る世帯員をまとめて一通で届け出る（住民基本台帳法第22条・第26条）",
    "juki_tenshutsu": "転出届は一緒に移る世帯員をまとめて一通で届け出る（住民基本台帳法第24条・第26条）",
    "juki_tenkyo": "転居届は一緒に移る世帯員をまとめて一通で届け出る（住民基本台帳法第23条・第26条）",
    "juki_setai_henkou": "世帯変更届は変更のある世帯員をまとめて一通で届け出る（住民基本台帳法第25条・第26条）",
    "kokuho_kanyu": "国民健康保険の加入は世帯主がまとめて届け出る（国民健康保険法第9条）",
    "kokuho_soushitsu": "国民健康保険の資格喪失は世帯主がまとめて届け出る（国民健康保険法第9条）",
    "kokuho_jusho_henkou": "国民健康保険の住所変更は世帯主がまとめて届け出る（国民健康保険法第9条）",
    "jt_nintei": "児童手当の認定請求は受給者が養育する子をまとめて一通で請求する（児童手当法第7条）",
}


@dataclass
class HouseholdAct:
    """One act for several persons of the case: their per-person rows, shown and changed together."""

    procedures: list[CaseProcedure] = field(default_factory=list)

    @property
    def proc(self) -> CaseProcedure:
        return self.procedures[0]

    @property
    def ids(self) -> list[int]:
        return [p.pk for p in self.procedures]

    @property
    def persons(self) -> list:
        return [p.person for p in self.procedures]

    @property
    def mixed(self) -> bool:
        """The persons' rows differ (e.g. one was completed alone): each one's status is shown."""
        return len({(p.status, p.status_reason) for p in self.procedures}) > 1

    @property
    def reasons(self) -> list[str]:
        return _unique(r for p in self.procedures for r in (p.reasons or []))

    @property
    def documents(self) -> list[str]:
        return _unique(d for p in self.procedures for d in (p.documents or []))

    @property
    def open(self) -> bool:
        return any(p.determined and p.status in ("todo", "doing") for p in self.procedures)


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if isinstance(item, str):
            seen.setdefault(item, None)
    return list(seen)


def is_household_act(code: str) -> bool:
    return code in HOUSEHOLD_ACTS


def household_acts(procedures: Iterable[CaseProcedure]) -> list[HouseholdAct]:
    """The groups among ``procedures`` (rows of persons only), in the order of their first row."""
    groups: dict[tuple, HouseholdAct] = {}
    for procedure in procedures:
        if procedure.person_id is None or not procedure.determined or not is_household_act(procedure.procedure_code):
            continue
        key = (procedure.procedure_code, procedure.counter_id)
        groups.setdefault(key, HouseholdAct()).procedures.append(procedure)
    return [group for group in groups.values() if len(group.procedures) > 1]

"""Reads of the My Number card app, typed and keyword-only.

For other apps:
- ``card_person_for_case`` / ``card_binding_values``: the verified card data of a case person (name with
  MJ characters as read, kana from the mirror if matched, address, birth date, sex) — the binding source
  the forms registry plugs in (docs/mynacard.md). The 個人番号 is never part of it.
- ``card_my_number``: the explicit, audited path to a 個人番号 read from the card.
- ``card_holders`` / ``holds_card``: the person's card holding, used by the navigation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from audit.services import record
from mynacard.models import CardHolding, CardRead, CardReadStatus, ReaderStation
from tenants.accounts.models import Counter, Desk, User
from tenants.crypto import decrypt

STATION_ONLINE_SECONDS = 10


def _require_staff(actor: User) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied(_("職員としてログインしてください。"))


def open_cases_at_desk(*, desk: Desk) -> list:
    """Cases the staff member seated at ``desk`` is serving at the desk's counter (no selector of the
    cases app answers this yet; read-only)."""
    from navigation.cases.models import Case, CaseStatus, QueueState

    if desk.staff_id is None:
        return []
    return list(Case.objects.filter(status=CaseStatus.OPEN, queue_state=QueueState.SERVING,
                                    current_counter_id=desk.counter_id, handling_by_id=desk.staff_id)
                .select_related("current_counter").order_by("-created_at")[:20])


@dataclass(frozen=True)
class CardPerson:
    """A verified card read of a case, as typed values for forms and screens."""

    card_read_id: int
    name: str  # as on the card: MJ characters and IVS kept
    name_kana: str  # from the mirror when the card matched one person, else ""
    address: str
    birth_date: dt.date
    sex: str  # ISO 5218: "1" male, "2" female, "9" not applicable
    atena_no: str
    read_at: dt.datetime
    differences: tuple[dict, ...]
    has_my_number: bool


def _person(read: CardRead) -> CardPerson:
    from integration.selectors import person_get

    kana = ""
    if read.atena_no:
        view = person_get(atena_no=read.atena_no)
        kana = view.name_kana if view else ""
    return CardPerson(card_read_id=read.pk, name=read.name, name_kana=kana, address=read.address,
                      birth_date=read.birth_date, sex=read.sex, atena_no=read.atena_no, read_at=read.read_at,
                      differences=tuple(read.differences or ()), has_my_number=read.my_number_encrypted is not None)


def card_reads_for_case(*, actor: User, case_id: int) -> list[CardPerson]:
    _require_staff(actor)
    reads = CardRead.objects.filter(case_id=case_id, verified=True, status=CardReadStatus.ATTACHED,
                                    purge_after__gt=timezone.now())
    return [_person(read) for read in reads.order_by("-read_at")]


ADDRESS_WITHHELD = _lazy("支援措置のため表示しません")


def card_panel_for_case(*, actor: User, case_id: int) -> list[CardPerson]:
    """The card reads of a case as the staff screen shows them.

    The card's address of a resident whose address a support measure restricts (or a member of such a
    household) follows the mirror's rule: shown only to staff holding 「支援措置の閲覧」. The resident
    presents the card herself, but the screen can be seen by others at the counter; a difference between
    card and mirror is still reported, without either address.
    """
    persons = card_reads_for_case(actor=actor, case_id=case_id)
    if getattr(actor, "may_view_support_measures", False):
        return persons
    from integration.selectors import protected_among

    protected, _households = protected_among(atena_nos=[p.atena_no for p in persons if p.atena_no])
    if not protected:
        return persons
    shown: list[CardPerson] = []
    for person in persons:
        if person.atena_no in protected:
            differences = tuple(
                {**d, "card": str(ADDRESS_WITHHELD), "mirror": str(ADDRESS_WITHHELD)} if d.get("field") == "address"
                else d for d in person.differences)
            person = replace(person, address=str(ADDRESS_WITHHELD), differences=differences)
        shown.append(person)
    return shown


def card_person_for_case(*, actor: User, case_id: int, atena_no: str = "") -> CardPerson | None:
    """The latest verified card read attached to the case (for ``atena_no`` if given)."""
    for person in card_reads_for_case(actor=actor, case_id=case_id):
        if not atena_no or person.atena_no == atena_no:
            return person
    return None


SEX_LABELS = {"1": "男", "2": "女", "9": "適用不能", "0": "不明"}


def card_binding_values(*, actor: User, case_id: int, atena_no: str = "") -> dict[str, object]:
    """Values for form bindings (keys ``card.*``); empty when the case has no verified card read."""
    person = card_person_for_case(actor=actor, case_id=case_id, atena_no=atena_no)
    if person is None:
        return {}
    return {"card.name": person.name, "card.name_kana": person.name_kana, "card.address": person.address,
            "card.birth_date": person.birth_date, "card.sex": person.sex,
            "card.sex_label": SEX_LABELS.get(person.sex, "")}


def card_my_number(*, actor: User, card_read_id: int, purpose: str) -> str:
    """The 個人番号 read from the card, for a procedure that needs it. Always audited, with the purpose."""
    _require_staff(actor)
    if not purpose.strip():
        raise PermissionDenied(_("個人番号を利用する事務を指定してください。"))
    read = CardRead.objects.filter(pk=card_read_id, verified=True).select_related("desk").first()
    if read is None or read.my_number_encrypted is None:
        raise PermissionDenied(_("このカード読み取りには個人番号がありません。"))
    if read.case_id is None or (read.staff_id != actor.pk and not actor.is_supervisor):
        raise PermissionDenied(_("この個人番号を見る権限がありません。"))
    from mynacard.services import MY_NUMBER_PURPOSE

    value = decrypt(connection.tenant, bytes(read.my_number_encrypted), purpose=MY_NUMBER_PURPOSE)
    atena_nos = [read.atena_no] if read.atena_no else []
    record(actor=actor, action="view", target_type="my_number", target_id=read.pk,
           details={"purpose": purpose[:100], "case": read.case_id, "atena_nos": atena_nos}, residents=atena_nos)
    return value


def card_holders(*, atena_nos: list[str]) -> set[str]:
    """Which of these persons hold a My Number card (confirmed by a verified card read)."""
    return set(CardHolding.objects.filter(atena_no__in=atena_nos).values_list("atena_no", flat=True))


def holds_card(*, atena_no: str) -> bool:
    return CardHolding.objects.filter(atena_no=atena_no).exists()


# ---------------------------------------------------------------------------------------------
# The desk panel (staff screen)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StationState:
    station: ReaderStation
    online: bool
    state: str
    reader: bool
    card: bool
    error: dict | None
    needs_confirmation: bool


def station_states(*, desks: list[Desk]) -> list[StationState]:
    now = timezone.now()
    states = []
    for station in ReaderStation.objects.filter(desk__in=desks, is_active=True).select_related("desk"):
        status = station.status or {}
        online = bool(station.last_seen_at and (now - station.last_seen_at).total_seconds() < STATION_ONLINE_SECONDS)
        states.append(StationState(station=station, online=online, state=status.get("state", ""),
                                   reader=bool(status.get("reader")), card=bool(status.get("card")),
                                   error=status.get("error") or None,
                                   needs_confirmation=station.confirm_requested_at is not None and online))
    return states


@dataclass(frozen=True)
class DeskPanel:
    desk: Desk | None
    desks: list[Desk]
    stations: list[StationState]
    pending: list[CardRead]
    rejected: list[CardRead]
    open_cases: list


def desk_panel(*, actor: User, counter: Counter | None) -> DeskPanel:
    _require_staff(actor)
    desk = Desk.objects.filter(staff=actor, is_active=True).select_related("counter").first()
    desks = list(Desk.objects.filter(counter=counter, is_active=True)) if counter else []
    if desk is None:
        return DeskPanel(desk=None, desks=desks, stations=[], pending=[], rejected=[], open_cases=[])
    recent = timezone.now() - dt.timedelta(minutes=10)
    pending = list(CardRead.objects.filter(desk=desk, staff=actor, status=CardReadStatus.PENDING,
                                           purge_after__gt=timezone.now()))
    rejected = list(CardRead.objects.filter(desk=desk, status=CardReadStatus.REJECTED, read_at__gte=recent)[:3])
    return DeskPanel(desk=desk, desks=desks, stations=station_states(desks=[desk]), pending=pending,
                     rejected=rejected, open_cases=open_cases_at_desk(desk=desk))


def stations_for_admin(*, actor: User) -> list[ReaderStation]:
    if not getattr(actor, "is_municipal_admin", False):
        raise PermissionDenied(_("この操作は業務管理者のみ行えます。"))
    return list(ReaderStation.objects.select_related("desk__counter").order_by("desk__counter", "desk", "name"))

"""DV等支援措置: the restricted address is the household's — no member's record may reveal it."""

from __future__ import annotations

import pytest

from integration.selectors import RESTRICTED, household_get, household_members, person_get
from tests.conftest import staff_client
from tests.test_search import make_resident, make_support_measure, staff  # noqa: F401 - fixture


def _family():
    from integration.models import Household

    victim = make_resident(name="保護 花子", kana="ホゴ ハナコ", address="鹿児島市秘密町9-9", relationship="世帯主")
    child = make_resident(name="保護 太郎", kana="ホゴ タロウ", address="鹿児島市秘密町9-9", relationship="子",
                          household_no=victim.household_no)
    Household.objects.create(household_no=victim.household_no, head_atena_no=victim.atena_no,
                             address="鹿児島市秘密町9-9", postcode="892-0000")
    make_support_measure(victim.atena_no)
    return victim, child


def test_household_member_of_protected_person_has_address_withheld(staff):  # noqa: F811
    victim, child = _family()
    child_view = person_get(atena_no=child.atena_no)
    assert child_view.address == RESTRICTED and child_view.address_restricted
    assert not child_view.support_measure  # the child has no measure of their own
    assert all(m.address == RESTRICTED for m in household_members(household_no=victim.household_no))
    household = household_get(household_no=victim.household_no)
    assert household.address == RESTRICTED and household.postcode == ""
    # Services that must hand the true address to the core system may ask for it explicitly.
    assert person_get(atena_no=child.atena_no, allow_restricted=True).address == "鹿児島市秘密町9-9"


def test_address_search_finds_no_member_of_a_protected_household(staff):  # noqa: F811
    from integration.search import person_search

    _, child = _family()
    neighbour = make_resident(name="近所 一郎", kana="キンジョ イチロウ", address="鹿児島市秘密町9-8")
    found = [p.atena_no for p in person_search(actor=staff, address="秘密町9")]
    assert found == [neighbour.atena_no]
    (by_name,) = person_search(actor=staff, query="保護太郎")
    assert by_name.atena_no == child.atena_no and by_name.address == RESTRICTED


def test_person_page_of_household_member_does_not_show_the_address(tenant_a, in_a):
    _, child = _family()
    page = staff_client(tenant_a, "staff1").get(f"/navi/cases/persons/{child.atena_no}/").content.decode()
    assert "秘密町" not in page and "非表示" in page


# ---------------------------------------------------------------------------------------------
# The first and the last day of a measure (start_date <= on <= end_date) on every staff path
# ---------------------------------------------------------------------------------------------
def _measure_for(victim, when: str) -> None:
    from datetime import date, timedelta

    today = date.today()
    spans = {"first": (today, None), "last": (today - timedelta(days=10), today),
             "ended": (today - timedelta(days=10), today - timedelta(days=1)),
             "future": (today + timedelta(days=1), None)}
    start, end = spans[when]
    make_support_measure(victim.atena_no, start=start, end=end)


def _family_without_measure():
    victim = make_resident(name="境界 花子", kana="キョウカイ ハナコ", address="鹿児島市境界町5-5",
                           relationship="世帯主")
    child = make_resident(name="境界 太郎", kana="キョウカイ タロウ", address="鹿児島市境界町5-5", relationship="子",
                          household_no=victim.household_no)
    return victim, child


@pytest.mark.parametrize(("when", "hidden"), [("first", True), ("last", True), ("ended", False),
                                              ("future", False)])
def test_screen_and_selectors_on_the_boundary_days(tenant_a, in_a, when, hidden):
    victim, child = _family_without_measure()
    _measure_for(victim, when)
    assert person_get(atena_no=victim.atena_no).support_measure is hidden  # the person's own measure
    assert person_get(atena_no=child.atena_no).address_restricted is hidden  # the household's address
    for atena_no in (victim.atena_no, child.atena_no):
        page = staff_client(tenant_a, "staff1").get(f"/navi/cases/persons/{atena_no}/").content.decode()
        assert ("境界町" not in page) is hidden, (when, atena_no)


@pytest.mark.parametrize(("when", "hidden"), [("first", True), ("last", True), ("ended", False),
                                              ("future", False)])
def test_address_search_on_the_boundary_days(staff, when, hidden):  # noqa: F811
    from integration.search import person_search

    victim, child = _family_without_measure()
    _measure_for(victim, when)
    found = {p.atena_no for p in person_search(actor=staff, address="境界町5")}
    assert found == (set() if hidden else {victim.atena_no, child.atena_no})
    by_name = {p.atena_no: p for p in person_search(actor=staff, query="キョウカイ")}
    assert (by_name[child.atena_no].address != "鹿児島市境界町5-5") is hidden

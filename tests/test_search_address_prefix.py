"""Search addresses are stored without the municipality's own 都道府県+市区町村, and search finds exactly what it
finds in the whole address (issue 15, Measure: the address trigram index was the largest index build).

What search must do does not change: an address typed at the counter finds the residents whose whole 住所+方書,
normalised, contains it (integration.search, R2.5) — whether the text typed starts inside the prefix, lies only
inside it, or the address does not start with the municipality at all (転出先, written without 都道府県) — and a
household with an address-restricted 支援措置 is never found by an address. The expected sets below are computed
from that rule over the addresses themselves, not from the stored column.
"""

from __future__ import annotations

from datetime import date

import pytest

from integration.checkdigits import with_check_digit
from integration.models import AddressSearchPrefix, LinkageLayout, Resident, SupportMeasure
from integration.normalize import LOCAL_MARK, local_address, normalize_address
from integration.search import address_condition, person_search
from integration.services import import_submit, layouts_ensure_shipped
from madoguchi.principals import SYSTEM
from tests.conftest import in_tenant
from tests.test_integration_import import person, std_csv

# testa is テストA市 of 鹿児島県 (code 462012); testb テストB区 of 東京都 (131041)
PREFIX_A = "鹿児島県テストA市"
ADDRESSES = {
    1: ("鹿児島県テストA市中央三丁目21番17号", ""),
    2: ("鹿児島県テストA市中央一丁目5番", "サンハイツ101号"),
    3: ("テストA市中央三丁目2番", ""),  # written without the prefecture: stored whole
    4: ("東京都千代田区丸の内一丁目1番", ""),  # another municipality (転出先): stored whole
    5: ("鹿児島県鹿児島市山下町1番地", ""),  # starts like the prefix, is not it
    6: ("鹿児島県 テストＡ市 中央三丁目２１番１７号", ""),  # full width and spaces: the same after normalising
    7: ("鹿児島県テストA市", ""),  # the prefix alone
    8: ("鹿児島県テストA市中央三丁目21番17号", ""),  # person 1's household (see the 支援措置 test)
    9: ("鹿児島県テストA市市中央二丁目3番", ""),  # the prefix's last character repeated after it
}
HOUSEHOLD = {8: 1}


def _rows(code: str = "462012", addresses: dict = ADDRESSES) -> bytes:
    return std_csv([person(n, municipality_code=code, address=address, address_katagaki=katagaki,
                           household_no=with_check_digit(f"{900000 + HOUSEHOLD.get(n, n):09d}"))
                    for n, (address, katagaki) in addresses.items()])


def _import(data: bytes) -> None:
    layouts_ensure_shipped()
    run = import_submit(layout=LinkageLayout.objects.get(key="juki_standard_csv"), source=data,
                        file_name="juki.csv", run_async=False, actor=SYSTEM)
    assert run.status == "succeeded", (run.message, run.errors)


def _atena(n: int) -> str:
    return with_check_digit(f"{n:09d}")


def _expected(query: str, addresses: dict = ADDRESSES) -> set[str]:
    typed = normalize_address(query)
    return {_atena(n) for n, (address, katagaki) in addresses.items() if typed in normalize_address(address + katagaki)}


def _found(staff: object, query: str) -> set[str]:
    return {view.atena_no for view in person_search(actor=staff, address=query, limit=200)}


def _substrings(text: str) -> set[str]:
    return {text[i:j] for i in range(len(text)) for j in range(i + 2, len(text) + 1)}


@pytest.fixture
def staff(in_a):
    from tenants.accounts.models import User

    return User.objects.get(username="staff1")


NAMED_QUERIES = [
    "鹿児島県テストA市中央三丁目21番17号",  # the whole address
    "鹿児島県テストA市中央",  # the whole prefix and the start of the rest
    "テストA市中央",  # starting inside the prefix
    "A市中央三",  # starting inside the prefix, ending inside the rest
    "市中央",  # the prefix's last character: also テストA市中央… written without the prefecture, and 市市中央
    "テストA市",  # only inside the prefix: every marked row, and the one written without the prefecture
    "鹿児島",  # only inside the prefix, and in 鹿児島市 too
    "中央三丁目21",  # only inside the rest
    "ハイツ101",  # in the 方書
    "千代田区",  # outside the municipality
    "テストＡ市　中央",  # typed in full width with a space
    "県テ", "市市", "A市市中央",
]


def test_stored_text_leaves_out_the_prefix_only_where_the_address_starts_with_it(staff):
    _import(_rows())
    assert AddressSearchPrefix.objects.get().prefix == PREFIX_A
    stored = dict(Resident.objects.values_list("atena_no", "search_address"))
    assert stored[_atena(1)] == LOCAL_MARK + "中央三丁目21番17号"
    assert stored[_atena(2)] == LOCAL_MARK + "中央一丁目5番サンハイツ101号"
    assert stored[_atena(6)] == LOCAL_MARK + "中央三丁目21番17号"
    assert stored[_atena(7)] == LOCAL_MARK
    assert stored[_atena(3)] == "テストA市中央三丁目2番"
    assert stored[_atena(4)] == "東京都千代田区丸の内一丁目1番"
    assert stored[_atena(5)] == "鹿児島県鹿児島市山下町1番地"


@pytest.mark.parametrize("query", NAMED_QUERIES)
def test_search_finds_exactly_the_residents_whose_whole_address_contains_the_text(staff, query):
    _import(_rows())
    assert _found(staff, query) == _expected(query)


def test_every_piece_of_the_addresses_finds_what_the_whole_addresses_contain(staff):
    _import(_rows())
    queries = set()
    for number in (1, 2, 3, 5, 9):
        address, katagaki = ADDRESSES[number]
        queries |= _substrings(normalize_address(address + katagaki))
    assert len(queries) > 300
    wrong = {query: (_found(staff, query), _expected(query)) for query in sorted(queries)
             if _found(staff, query) != _expected(query)}
    assert wrong == {}


def test_rows_stored_whole_are_found_as_before(staff):
    """Rows written before the prefix was left out (whole text) are found exactly too, next to new ones."""
    _import(_rows())
    old = {11: ("鹿児島県テストA市中央三丁目4番", ""), 12: ("テストA市中央三丁目5番", "")}
    for n, (address, _katagaki) in old.items():
        Resident.objects.create(atena_no=_atena(n), household_no=_atena(900000 + n), name=f"旧形式 {n}",
                                birth_date=date(1980, 1, 1), sex="1", address=address,
                                search_address=normalize_address(address))
    everyone = {**ADDRESSES, **old}
    for query in [*NAMED_QUERIES, *_substrings(normalize_address(old[11][0]))]:
        assert _found(staff, query) == _expected(query, everyone), query


def test_an_address_restricted_household_is_never_found_by_an_address(staff):
    _import(_rows())
    queries = ["中央三丁目21番", "A市中央三丁目21", "テストA市", "鹿児島県テストA市中央三丁目21番17号"]
    for query in queries:
        assert {_atena(1), _atena(8)} <= _found(staff, query), query
    SupportMeasure.objects.create(atena_no=_atena(1), start_date=date(2020, 1, 1), restrict_address=True)
    for query in queries:
        found = _found(staff, query)
        assert _atena(1) not in found and _atena(8) not in found, query
        assert found == _expected(query) - {_atena(1), _atena(8)}, query
    # by name they are still found, with the address withheld
    views = person_search(actor=staff, query="山田 太郎1")
    assert [v.address_restricted for v in views if v.atena_no == _atena(1)] == [True]


def test_the_stored_prefix_is_used_until_the_rows_are_rewritten(staff):
    """Imports and search use the prefix recorded with the rows, not the municipality's current name: after a
    rename (here: a prefix recorded for another name) search stays exact; the command rewrites rows and prefix."""
    from integration.services import search_addresses_rewrite

    AddressSearchPrefix.objects.create(pk=1, prefix="鹿児島県旧A町")
    _import(_rows())
    assert Resident.objects.get(atena_no=_atena(1)).search_address == normalize_address(ADDRESSES[1][0])
    for query in NAMED_QUERIES:
        assert _found(staff, query) == _expected(query), query
    from tenants.models import Municipality

    changed, total = search_addresses_rewrite(municipality=Municipality.objects.get(slug="testa"))
    assert (changed, total) == (6, len(ADDRESSES))  # 1, 2, 6, 7, 8 and 9 start with the current prefix
    assert AddressSearchPrefix.objects.get().prefix == PREFIX_A
    assert Resident.objects.get(atena_no=_atena(1)).search_address == LOCAL_MARK + "中央三丁目21番17号"
    for query in NAMED_QUERIES:
        assert _found(staff, query) == _expected(query), query


def test_the_prefix_is_each_municipalitys_own(tenant_a, tenant_b):
    """testa and testb hold the same 宛名番号 with their own addresses; each leaves out its own prefix."""
    same = {1: ("中央三丁目21番17号", "")}
    with in_tenant(tenant_a):
        _import(_rows("462012", {1: (PREFIX_A + same[1][0], "")}))
    with in_tenant(tenant_b):
        _import(_rows("131041", {1: ("東京都テストB区" + same[1][0], "")}))
        from tenants.accounts.models import User

        staff_b = User.objects.get(username="staff1")
        assert AddressSearchPrefix.objects.get().prefix == "東京都テストB区"
        assert _found(staff_b, "B区中央三丁目") == {_atena(1)}
        assert _found(staff_b, "A市中央三丁目") == set()
        assert _found(staff_b, "東京都") == {_atena(1)}
        assert _found(staff_b, "鹿児島県") == set()
    with in_tenant(tenant_a):
        from tenants.accounts.models import User

        staff_a = User.objects.get(username="staff1")
        assert AddressSearchPrefix.objects.get().prefix == PREFIX_A
        assert _found(staff_a, "A市中央三丁目") == {_atena(1)}
        assert _found(staff_a, "B区中央三丁目") == set()
        assert _found(staff_a, "東京都") == set()


@pytest.mark.parametrize(("address", "prefix", "expected"), [
    ("鹿児島県テストA市中央", PREFIX_A, LOCAL_MARK + "中央"),
    ("テストA市中央", PREFIX_A, "テストA市中央"),
    ("鹿児島県テストA市", PREFIX_A, LOCAL_MARK),
    ("鹿児島県テストA市中央", "", "鹿児島県テストA市中央"),
])
def test_local_address(address, prefix, expected):
    assert local_address(address, prefix) == expected


def test_typed_mark_is_removed_and_the_condition_has_one_branch_per_overlap():
    assert normalize_address("中央" + LOCAL_MARK + "三丁目") == "中央三丁目"
    assert address_condition("中央", PREFIX_A) == ("r.search_address LIKE %s", ["%中央%"])
    sql, params = address_condition("A市中央", PREFIX_A)
    assert params == ["%A市中央%", LOCAL_MARK + "中央%"]
    assert address_condition("テストA", PREFIX_A)[1] == ["%テストA%", LOCAL_MARK + "%"]
    assert address_condition("中_%", PREFIX_A)[1] == ["%中\\_\\%%"]


def test_a_renamed_municipality_is_searched_exactly_before_and_after_the_rewrite(staff, tenant_a):
    from django.db import connection

    from integration.services import search_addresses_rewrite
    from tenants.models import Municipality

    _import(_rows())
    municipality = Municipality.objects.get(pk=tenant_a.pk)
    municipality.name = "テストC市"
    municipality.save(update_fields=["name"])
    connection.tenant.name = "テストC市"
    try:
        second = {**ADDRESSES, 10: ("東京都千代田区丸の内一丁目2番", "")}
        _import(_rows(addresses=second))  # the next nightly file, after the rename: for the recorded prefix
        assert Resident.objects.get(atena_no=_atena(1)).search_address == LOCAL_MARK + "中央三丁目21番17号"
        for query in NAMED_QUERIES:
            assert _found(staff, query) == _expected(query, second), query
        assert search_addresses_rewrite(municipality=municipality) == (6, len(second))
        assert AddressSearchPrefix.objects.get().prefix == "鹿児島県テストC市"
        assert Resident.objects.get(atena_no=_atena(1)).search_address == normalize_address(ADDRESSES[1][0])
        for query in NAMED_QUERIES:
            assert _found(staff, query) == _expected(query, second), query
    finally:
        connection.tenant.name = tenant_a.name = "テストA市"


def test_the_rewrite_waits_for_a_running_import_and_changes_nothing(staff, tenant_a):
    from integration.models import ImportRun
    from integration.services import ImportInProgress, search_addresses_rewrite

    _import(_rows())
    AddressSearchPrefix.objects.filter(pk=1).update(prefix="鹿児島県旧A町")
    before = dict(Resident.objects.values_list("atena_no", "search_address"))
    run = ImportRun.objects.create(layout=LinkageLayout.objects.get(key="juki_standard_csv"), file_name="next.csv",
                                   sha256="0" * 64, status=ImportRun.Status.VALIDATING)
    with pytest.raises(ImportInProgress, match="取込が実行中"):
        search_addresses_rewrite(municipality=tenant_a)
    assert dict(Resident.objects.values_list("atena_no", "search_address")) == before
    assert AddressSearchPrefix.objects.get().prefix == "鹿児島県旧A町"
    run.status = ImportRun.Status.SUCCEEDED
    run.save(update_fields=["status"])
    # the rows were written for the current name
    assert search_addresses_rewrite(municipality=tenant_a) == (0, len(ADDRESSES))
    assert AddressSearchPrefix.objects.get().prefix == PREFIX_A


def test_renaming_a_municipality_queues_the_rewrite_in_its_own_schema_after_commit(
        tenant_a, monkeypatch, django_capture_on_commit_callbacks):
    """The ops admin renames a municipality: once that commits, the rewrite of its search addresses is queued in
    its schema (a TenantTask carries the schema it was sent from); other changes queue nothing."""
    from django.db import connection

    from integration import tasks
    from tenants.models import Municipality
    from tenants.services import municipality_update

    sent: list[str] = []
    monkeypatch.setattr(tasks.rewrite_search_addresses, "apply_async",
                        lambda *args, **kwargs: sent.append(connection.schema_name))
    stored = Municipality.objects.get(pk=tenant_a.pk)
    fields = {"name_kana": stored.name_kana, "areas": list(stored.areas), "contract_start": stored.contract_start,
              "contract_end": stored.contract_end}
    with django_capture_on_commit_callbacks(execute=True):
        municipality_update(municipality=stored, actor=SYSTEM, name=stored.name, **fields)
    assert sent == []  # the name did not change
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        municipality_update(municipality=stored, actor=SYSTEM, name="テストA新市", **fields)
        assert sent == []  # not before the rename commits
    assert len(callbacks) == 1 and sent == [tenant_a.schema_name]

"""Demo data looks real but is not (issue 17 item 16): fictional municipality codes and addresses, no two
members of a household with the same full name, foreign residents with names of their own."""

from collections import defaultdict

from integration.generator import CoreDataGenerator
from tenants.demo import DEMO_CITIES
from tenants.validators import validate_municipality_code

# 全国地方公共団体コード of real municipalities the demo once borrowed (鹿児島市, 北見市) and a few others.
REAL_CODES = {"462012", "012084", "131041", "011002", "271004"}


def test_demo_cities_have_valid_but_unassigned_codes():
    for city in DEMO_CITIES:
        validate_municipality_code(city.code)  # accepted by the same validator as a real code
        assert city.code not in REAL_CODES
        assert city.code[2:5] == "999", "no municipality of any prefecture is numbered in the 900s"


def test_generated_addresses_name_the_demo_city_not_a_real_one():
    people = CoreDataGenerator(residents=500, seed=5, municipality_code="469998", city_name="みなみデモ市").generate()
    assert all(p.address.startswith("鹿児島県みなみデモ市") for p in people)
    assert not any("鹿児島市" in p.address or "鹿児島市" in p.honseki for p in people)
    assert all(p.address_code.startswith("46999") for p in people)


def test_no_two_members_of_a_household_share_a_full_name():
    people = CoreDataGenerator(residents=5000, seed=9).generate()
    households: dict[str, list[str]] = defaultdict(list)
    for p in people:
        households[p.household_no].append(p.name)
    assert len(households) > 1000
    for names in households.values():
        assert len(names) == len(set(names)), names


def test_foreign_households_have_plausible_individual_names():
    people = CoreDataGenerator(residents=20000, seed=4).generate()
    foreign: dict[str, list] = defaultdict(list)
    for p in people:
        if p.kind == "foreign":
            foreign[p.household_no].append(p)
    assert len(foreign) >= 10
    nationalities = {members[0].nationality for members in foreign.values()}
    assert len(nationalities) >= 3
    for members in foreign.values():
        family = members[0].name.split(" ")[0]
        assert all(m.name.split(" ")[0] == family for m in members)  # one family name
        assert len({m.name for m in members}) == len(members)  # each member a given name of their own
        assert all(m.name == m.name_alpha and m.name_kana for m in members)
        for m in members:
            if m.relationship != "世帯主" and members[0].residence_status == "技術・人文知識・国際業務":
                assert m.residence_status == "家族滞在"

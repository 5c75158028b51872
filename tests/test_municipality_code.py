import pytest
from django.core.exceptions import ValidationError

from tenants.validators import municipality_check_digit, validate_municipality_code


@pytest.mark.parametrize("code", ["462012", "131041", "131130", "012084", "112186", "130001"])
def test_published_codes_are_valid(code):
    validate_municipality_code(code)


@pytest.mark.parametrize(
    ("code", "error_code"),
    [
        ("462013", "check_digit"),  # 鹿児島市 with a wrong check digit
        ("131040", "check_digit"),
        ("46201", "length"),
        ("4620120", "length"),
        ("46201a", "non_digit"),
        ("４６２０１２", "non_digit"),  # full-width digits are not accepted silently
        ("", "required"),
        ("990006", "prefecture"),
    ],
)
def test_invalid_codes_are_rejected_with_a_reason(code, error_code):
    with pytest.raises(ValidationError) as excinfo:
        validate_municipality_code(code)
    assert excinfo.value.code == error_code
    assert excinfo.value.messages[0]


def test_check_digit_edge_remainders():
    # r = 0 -> 1, r = 1 -> 0 (the "last digit of 11 - r" rule)
    assert municipality_check_digit("13104") == 1
    assert municipality_check_digit("13113") == 0
    assert municipality_check_digit("46201") == 2


def test_check_digit_message_names_the_expected_digit():
    with pytest.raises(ValidationError) as excinfo:
        validate_municipality_code("462019")
    assert "6桁目は2" in excinfo.value.messages[0]

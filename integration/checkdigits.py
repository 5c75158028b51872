"""Check digits of the resident record standard (住民記録システム標準仕様書)."""

from __future__ import annotations

from operator import mul

_WEIGHTS = (2, 3, 4, 5, 6, 7) * 4  # from the right; enough for 24-digit bodies


def m11w27_check_digit(body: str) -> int:
    """Modulus 11, weights 2–7 repeating from the right; remainder 0 → 0, remainder 1 → 0, else 11 − r."""
    if len(body) > len(_WEIGHTS):
        total = sum(int(digit) * (2 + index % 6) for index, digit in enumerate(reversed(body)))
    else:
        total = sum(map(mul, map(int, reversed(body)), _WEIGHTS))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_atena_no(value: str) -> bool:
    """宛名番号 / 世帯番号: digits whose last digit is the M11W2–7 check digit of the rest."""
    return bool(value) and value.isascii() and value.isdigit() and len(value) >= 2 and (
        m11w27_check_digit(value[:-1]) == int(value[-1])
    )


_OFFSETS = [48 * sum(_WEIGHTS[:n]) for n in range(len(_WEIGHTS) + 1)]  # ASCII '0' is 48


def is_valid_atena_digits(value: str) -> bool:
    """``is_valid_atena_no`` for a value already known to be ASCII digits (the import checks a whole
    column at once): the weighted sum straight from the bytes."""
    body = value.encode()
    if len(body) < 2 or len(body) > len(_WEIGHTS) + 1:
        return is_valid_atena_no(value)
    remainder = (sum(map(mul, body[-2::-1], _WEIGHTS)) - _OFFSETS[len(body) - 1]) % 11
    return (0 if remainder <= 1 else 11 - remainder) == body[-1] - 48


def with_check_digit(body: str) -> str:
    return body + str(m11w27_check_digit(body))

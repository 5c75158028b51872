"""Check digits of the resident record standard (住民記録システム標準仕様書)."""

from __future__ import annotations

from functools import lru_cache
from itertools import repeat
from operator import add, mul

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


@lru_cache(maxsize=32)
def _check_bytes(length: int) -> bytes:
    """For bodies of ``length`` digits: weighted sum of their ASCII bytes → the ASCII check digit."""
    offset = _OFFSETS[length]
    table = bytearray()
    for total in range(57 * sum(_WEIGHTS[:length]) + 1):
        remainder = (total - offset) % 11
        table.append(48 + (0 if remainder <= 1 else 11 - remainder))
    return bytes(table)


def all_valid_atena_digits(values: list[str] | tuple[str, ...]) -> bool:
    """``all(map(is_valid_atena_digits, values))`` for ASCII-digit values, a column at a time: for values of
    one length the weighted sums are built position by position over the joined bytes (no per-value
    Python), and each sum's check digit is read from a table."""
    lengths = set(map(len, values))
    if len(lengths) != 1:
        return all(map(is_valid_atena_digits, values))
    length = lengths.pop()
    if not 2 <= length <= len(_WEIGHTS) + 1:
        return all(map(is_valid_atena_digits, values))
    data = "".join(values).encode()
    body = length - 1
    sums: list[int] | None = None
    for k in range(body):  # k-th body digit from the right, weight _WEIGHTS[k]
        terms = map(mul, data[body - 1 - k::length], repeat(_WEIGHTS[k]))
        sums = list(terms) if sums is None else list(map(add, sums, terms))
    return bytes(map(_check_bytes(body).__getitem__, sums)) == data[body::length]


def with_check_digit(body: str) -> str:
    return body + str(m11w27_check_digit(body))

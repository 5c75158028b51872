"""Person search over the data mirror (R2.5, issue 4 item 7).

Staff type a name (kanji or kana; full/half width, spaces, old/new character forms — all normalised
with ``integration.normalize``), a birth date (西暦 or 和暦: ``S45.1.2``, ``昭和45年1月2日``,
``S450102``, ``3450102``), an address and/or a 宛名番号. Criteria are combined with AND.

Ranking (name): exact match, then prefix, then substring, then trigram similarity; inside a tier
shorter (closer) names first. Each tier is one indexed query (pg_trgm GIN on ``search_*``; ``=`` and
``LIKE`` both use it) and the tiers stop as soon as ``limit`` is filled, so a search touches only
what it returns.

Support measures (DV等支援措置) are enforced here: results go through
``integration.selectors.person_views`` (address withheld, person flagged) and a person whose address
is restricted is never found *by* an address — otherwise the search itself would disclose where they
live. Every search is written to the audit trail (criteria kinds and the 宛名番号 found, never the
typed text).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from audit.services import record
from integration.eras import ERAS as ERA_TABLE
from integration.models import AddressSearchPrefix, Resident, ResidentStatus, SupportMeasure
from integration.normalize import LOCAL_MARK, normalize_address, normalize_kana, normalize_name
from integration.selectors import PersonView, person_views
from madoguchi.inputs import date_in_range, date_range_message

MAX_LIMIT = 200
# Rows ranked per tier at most; beyond that the result says ``truncated`` and staff refine the search.
CANDIDATES = 1000
# Substring and similarity tiers need at least one trigram (3 characters) to use the GIN index.
MIN_INFIX = 3

# 元号: (letter, kanji, code used by core systems, first day, last day, offset to 西暦)
# (from the one era table, integration/eras.json)
_ERAS = tuple((era.letter, era.name, era.digit, era.start, era.end, era.offset) for era in ERA_TABLE)
_ERA_BY_KEY = {}
for _era in _ERAS:
    for _key in (_era[0], _era[1], _era[1][0], _era[2]):
        _ERA_BY_KEY[_key] = _era

_KATAKANA = re.compile(r"^[\u30a1-\u30faー\u30fc]+$")
_WAREKI = re.compile(
    r"^(明治|大正|昭和|平成|令和|[明大昭平令]|[MTSHR])(元|\d{1,2})[.\-/年](\d{1,2})[.\-/月](\d{1,2})日?$"
)
_WAREKI_COMPACT = re.compile(r"^([MTSHR])(\d{2})(\d{2})(\d{2})$")
_ERA_CODE_COMPACT = re.compile(r"^([1-5])(\d{2})(\d{2})(\d{2})$")
_SEIREKI = re.compile(r"^(\d{4})[.\-/年](\d{1,2})[.\-/月](\d{1,2})日?$")
_SEIREKI_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def _wareki_to_date(era: tuple, year: int, month: int, day: int, text: str) -> date:
    letter, kanji, _code, first, last, offset = era
    if year < 1:
        raise ValidationError(_("「%(text)s」の年が正しくありません。") % {"text": text})
    try:
        value = date(offset + year, month, day)
    except ValueError as exc:
        raise ValidationError(_("「%(text)s」は存在しない日付です。") % {"text": text}) from exc
    if not first <= value <= last:
        raise ValidationError(
            _("「%(text)s」は%(era)sの期間（%(first)s〜）にありません。")
            % {"text": text, "era": kanji, "first": first.isoformat()}
        )
    return value


def parse_birth_date(text: str | date | None) -> date | None:
    """Parse a birth date typed at the counter. Empty → None; unreadable → ValidationError.

    Accepts 1970-01-02, 1970/1/2, 19700102, 1970年1月2日, S45.1.2, S45/1/2, 昭和45年1月2日, 昭45.1.2,
    令和元年5月1日, S450102 (era letter + YYMMDD) and 3450102 (era code 1–5 + YYMMDD). Full-width
    digits and spaces are fine.
    """
    if text is None or isinstance(text, date):
        return text
    raw = text
    value = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    if not value:
        return None
    match = _WAREKI.match(value)
    if match:
        era = _ERA_BY_KEY[match.group(1)]
        year = 1 if match.group(2) == "元" else int(match.group(2))
        return _wareki_to_date(era, year, int(match.group(3)), int(match.group(4)), raw)
    match = _WAREKI_COMPACT.match(value) or _ERA_CODE_COMPACT.match(value)
    if match:
        era = _ERA_BY_KEY[match.group(1)]
        return _wareki_to_date(era, int(match.group(2)), int(match.group(3)), int(match.group(4)), raw)
    match = _SEIREKI.match(value) or _SEIREKI_COMPACT.match(value)
    if match:
        try:
            parsed = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError as exc:
            raise ValidationError(_("「%(text)s」は存在しない日付です。") % {"text": raw}) from exc
        if not date_in_range(parsed):
            raise ValidationError(date_range_message(_("生年月日")))
        return parsed
    if value.isdigit() and len(value) == 6:
        raise ValidationError(
            _("「%(text)s」は元号が分かりません。S450102 や 3450102 のように元号を付けてください。") % {"text": raw}
        )
    raise ValidationError(
        _("「%(text)s」は生年月日として読めません（例：1970-01-02、S45.1.2、昭和45年1月2日）。") % {"text": raw}
    )


@dataclass(frozen=True)
class NameQuery:
    column: str  # "search_name" or "search_kana"
    text: str


def name_query(text: str) -> NameQuery | None:
    """Normalise a typed name: all-kana input searches フリガナ, anything else 氏名."""
    kana = normalize_kana(text)
    if kana and _KATAKANA.match(kana):
        return NameQuery("search_kana", kana)
    name = normalize_name(text)
    return NameQuery("search_name", name) if name else None


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_SM_TABLE = SupportMeasure._meta.db_table
_RESIDENT_TABLE = Resident._meta.db_table
# Nobody in a household with an address-restricted member is found by address: the address is shared.
_RESTRICTED_SQL = (
    f'NOT EXISTS (SELECT 1 FROM "{_SM_TABLE}" sm JOIN "{_RESIDENT_TABLE}" hm ON hm.atena_no = sm.atena_no '  # noqa: S608
    "WHERE hm.household_no = r.household_no "
    "AND sm.restrict_address AND sm.start_date <= %s AND (sm.end_date IS NULL OR sm.end_date >= %s))"
)


def address_condition(address: str, prefix: str) -> tuple[str, list[object]]:
    """WHERE part that finds the rows whose *full* normalised address contains ``address`` (normalised), when
    the stored text of an address starting with the municipality's ``prefix`` is LOCAL_MARK + the rest
    (``integration.normalize.local_address``) and any other address is stored whole.

    A text q is inside prefix + rest exactly when it is inside the rest, or inside the prefix (every
    marked row), or it is a nonempty end of the prefix followed by a nonempty start of the rest. The first
    is ``LIKE '%q%'`` (true of whole addresses too; q never holds the mark); the others only match marked
    rows. A start of the rest (``LIKE 'MARKrest%'``) still uses the trigram index: the mark begins a word.
    """
    conditions = ["r.search_address LIKE %s"]
    params: list[object] = [f"%{_like_escape(address)}%"]
    if prefix and address in prefix:
        conditions.append("r.search_address LIKE %s")
        params.append(LOCAL_MARK + "%")
    elif prefix:
        for split in range(1, min(len(address) - 1, len(prefix)) + 1):
            if prefix.endswith(address[:split]):
                conditions.append("r.search_address LIKE %s")
                params.append(f"{LOCAL_MARK}{_like_escape(address[split:])}%")
    sql = conditions[0] if len(conditions) == 1 else f"({' OR '.join(conditions)})"
    return sql, params


def _address_prefix() -> str:
    """The prefix the stored addresses of this schema leave out ("" before the first import: none does)."""
    return AddressSearchPrefix.objects.values_list("prefix", flat=True).first() or ""


def _filters(
    *, birth: date | None, address: str, atena_no: str, include_departed: bool, on: date
) -> tuple[list[str], list[object]]:
    """WHERE parts shared by every tier (all parameterised)."""
    where: list[str] = []
    params: list[object] = []
    if not include_departed:
        where.append("r.status = %s")
        params.append(ResidentStatus.RESIDENT.value)
    if birth is not None:
        where.append("r.birth_date = %s")
        params.append(birth)
    if atena_no:
        where.append("r.atena_no = %s")
        params.append(atena_no)
    if address:
        condition, condition_params = address_condition(address, _address_prefix())
        where.append(condition)
        params += condition_params
        # Never reveal by an address search where a person with a restricted address lives.
        where.append(_RESTRICTED_SQL)
        params += [on, on]
    return where, params


def _trigram_available() -> bool:
    """pg_trgm is installed (always in production; not in the embedded demo database)."""
    from django.db import connection

    cached = getattr(connection, "_madoguchi_trgm", None)
    if cached is None:
        from madoguchi.db import extension_installed

        cached = connection._madoguchi_trgm = extension_installed(connection, "pg_trgm")
    return cached


def _tier_sql(name: NameQuery, *, other_filters: bool) -> list[tuple[str, list[object], str]]:
    """(condition, params, order) per ranking tier; the column is one of two fixed names."""
    col = "r." + ("search_kana" if name.column == "search_kana" else "search_name")
    text, escaped = name.text, _like_escape(name.text)
    tiers = [
        (f"{col} = %s", [text], "r.search_kana, r.atena_no"),
        (
            f"{col} LIKE %s AND {col} <> %s",
            [escaped + "%", text],
            f"length({col}), r.search_kana, r.atena_no",
        ),
    ]
    if len(text) >= MIN_INFIX or other_filters:
        tiers.append(
            (
                f"{col} LIKE %s AND {col} NOT LIKE %s",
                ["%" + escaped + "%", escaped + "%"],
                f"length({col}), r.search_kana, r.atena_no",
            )
        )
    if len(text) >= MIN_INFIX and _trigram_available():
        tiers.append(
            (
                f"{col} %% %s AND {col} NOT LIKE %s",
                [text, "%" + escaped + "%"],
                f"similarity({col}, %s) DESC, r.search_kana, r.atena_no",
            )
        )
    return tiers


def _run(
    where: list[str], params: list[object], order: str, order_params: list[object], limit: int
) -> tuple[list[Resident], bool]:
    """One tier: at most ``CANDIDATES`` matching rows are ranked (a common surname alone can match
    tens of thousands; ranking them all would cost a heap fetch each). Returns (rows, truncated)."""
    table = Resident._meta.db_table
    sql = (
        "SELECT r.*, count(*) OVER () AS _candidates FROM ("  # noqa: S608 - fixed names, values parameterised
        f'SELECT r.* FROM "{table}" r WHERE {" AND ".join(where) or "TRUE"} LIMIT %s'
        f") r ORDER BY {order} LIMIT %s"
    )
    rows = list(Resident.objects.raw(sql, [*params, CANDIDATES, *order_params, limit]))
    return rows, bool(rows) and rows[0]._candidates >= CANDIDATES


class SearchResults(list):
    """``list[PersonView]`` plus ``truncated``: more persons matched than could be ranked (refine)."""

    truncated: bool = False


def person_search(
    *,
    actor: object,
    query: str = "",
    birth_date: date | str | None = None,
    address: str = "",
    atena_no: str = "",
    limit: int = 50,
    include_departed: bool = False,
    on: date | None = None,
) -> list[PersonView]:
    """Find persons in the mirror; see the module docstring. Raises ValidationError on bad input.

    The list returned is a ``SearchResults`` whose ``truncated`` is True when a tier matched more than
    ``CANDIDATES`` persons (the screen then asks for a birth date or more of the name).
    """
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        raise PermissionDenied(_("住民検索の権限がありません。"))
    on = on or date.today()
    birth = parse_birth_date(birth_date)
    name = name_query(query or "")
    addr = normalize_address(address or "")
    number = unicodedata.normalize("NFKC", atena_no or "").strip()
    if number and not number.isdigit():
        raise ValidationError(_("宛名番号は数字で入力してください。"))
    if name is None and birth is None and not addr and not number:
        raise ValidationError(_("氏名・カナ、生年月日、住所、宛名番号のいずれかを入力してください。"))
    if addr and len(addr) < 2 and name is None and birth is None and not number:
        raise ValidationError(_("住所は2文字以上で入力してください。"))
    limit = max(1, min(int(limit), MAX_LIMIT))

    where, params = _filters(birth=birth, address=addr, atena_no=number, include_departed=include_departed, on=on)
    found: list[Resident] = []
    truncated = False
    if name is None:
        found, truncated = _run(where, params, "r.search_kana, r.birth_date, r.atena_no", [], limit)
    else:
        seen: set[int] = set()
        other = birth is not None or bool(number) or bool(addr)
        for condition, tier_params, order in _tier_sql(name, other_filters=other):
            order_params = [name.text] if "%s" in order else []
            rows, cut = _run([*where, condition], [*params, *tier_params], order, order_params, limit - len(found))
            truncated = truncated or cut
            for resident in rows:
                if resident.pk not in seen:
                    seen.add(resident.pk)
                    found.append(resident)
            if len(found) >= limit:
                break
    views = SearchResults(person_views(found, on=on))
    views.truncated = truncated
    record(
        action="view",
        target_type="person_search",
        details={
            "criteria": [
                kind
                for kind, present in (
                    ("name", name is not None),
                    ("birth_date", birth is not None),
                    ("address", bool(addr)),
                    ("atena_no", bool(number)),
                )
                if present
            ],
            "count": len(views),
            "truncated": truncated,
            "atena_nos": [view.atena_no for view in views],
        },
        actor=actor,
        residents=[view.atena_no for view in views],
    )
    return views

"""Person search on 1,000,000 residents: load with COPY into a throw-away municipality, run varied searches.

    .venv/bin/python bench/search_bench.py [--residents 1000000] [--searches 300] [--keep]

Uses its own database (``bench_madoguchi_search`` on the configured server, created if missing) so the
development database is never touched; the municipality is dropped at the end unless ``--keep``.
Every search goes through ``integration.search.person_search`` exactly as the counter screen calls
it (normalisation, ranked tiers, support-measure views, audit record). Prints p50/p95/max in ms per
kind of search and overall.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SURNAMES = [
    ("佐藤", "サトウ", 30), ("鈴木", "スズキ", 27), ("高橋", "タカハシ", 22), ("髙橋", "タカハシ", 3),
    ("田中", "タナカ", 20), ("伊藤", "イトウ", 17), ("渡辺", "ワタナベ", 15), ("渡邊", "ワタナベ", 2),
    ("山本", "ヤマモト", 15), ("中村", "ナカムラ", 15), ("小林", "コバヤシ", 14), ("加藤", "カトウ", 12),
    ("吉田", "ヨシダ", 12), ("山田", "ヤマダ", 11), ("佐々木", "ササキ", 10), ("山口", "ヤマグチ", 9),
    ("松本", "マツモト", 9), ("井上", "イノウエ", 9), ("木村", "キムラ", 8), ("林", "ハヤシ", 8),
    ("斎藤", "サイトウ", 7), ("齋藤", "サイトウ", 2), ("清水", "シミズ", 7), ("山崎", "ヤマザキ", 6),
    ("山﨑", "ヤマザキ", 1), ("森", "モリ", 6), ("池田", "イケダ", 6), ("橋本", "ハシモト", 6),
    ("阿部", "アベ", 6), ("石川", "イシカワ", 5), ("山下", "ヤマシタ", 5), ("中島", "ナカジマ", 5),
    ("石井", "イシイ", 5), ("小川", "オガワ", 5), ("前田", "マエダ", 5), ("岡田", "オカダ", 5),
    ("長谷川", "ハセガワ", 5), ("藤田", "フジタ", 5), ("後藤", "ゴトウ", 5), ("近藤", "コンドウ", 5),
    ("村上", "ムラカミ", 4), ("遠藤", "エンドウ", 4), ("青木", "アオキ", 4), ("坂本", "サカモト", 4),
    ("斉藤", "サイトウ", 4), ("福田", "フクダ", 4), ("太田", "オオタ", 4), ("西村", "ニシムラ", 4),
    ("藤井", "フジイ", 4), ("金子", "カネコ", 4), ("岡本", "オカモト", 4), ("藤原", "フジワラ", 4),
    ("中野", "ナカノ", 4), ("三浦", "ミウラ", 4), ("原田", "ハラダ", 4), ("中川", "ナカガワ", 4),
    ("松田", "マツダ", 4), ("竹内", "タケウチ", 4), ("小野", "オノ", 4), ("田村", "タムラ", 4),
    ("中山", "ナカヤマ", 3), ("和田", "ワダ", 3), ("石田", "イシダ", 3), ("森田", "モリタ", 3),
    ("上田", "ウエダ", 3), ("原", "ハラ", 3), ("内田", "ウチダ", 3), ("柴田", "シバタ", 3),
    ("酒井", "サカイ", 3), ("宮崎", "ミヤザキ", 3), ("横山", "ヨコヤマ", 3), ("高木", "タカギ", 3),
    ("安藤", "アンドウ", 3), ("宮本", "ミヤモト", 3), ("大野", "オオノ", 3), ("小島", "コジマ", 3),
    ("谷口", "タニグチ", 3), ("工藤", "クドウ", 3), ("今井", "イマイ", 3), ("高田", "タカダ", 3),
    ("増田", "マスダ", 3), ("丸山", "マルヤマ", 3), ("杉山", "スギヤマ", 3), ("村田", "ムラタ", 3),
    ("大塚", "オオツカ", 3), ("新井", "アライ", 3), ("小山", "コヤマ", 3), ("平野", "ヒラノ", 3),
    ("藤本", "フジモト", 3), ("河野", "コウノ", 3), ("上野", "ウエノ", 3), ("野口", "ノグチ", 3),
    ("武田", "タケダ", 3), ("松井", "マツイ", 3), ("千葉", "チバ", 3), ("岩崎", "イワサキ", 3),
    ("菅原", "スガワラ", 3), ("木下", "キノシタ", 3), ("久保", "クボ", 3), ("佐野", "サノ", 3),
    ("野村", "ノムラ", 3), ("松尾", "マツオ", 3), ("市川", "イチカワ", 3), ("菊地", "キクチ", 3),
    ("杉本", "スギモト", 2), ("古川", "フルカワ", 2), ("大西", "オオニシ", 2), ("島田", "シマダ", 2),
    ("水野", "ミズノ", 2), ("桜井", "サクライ", 2), ("櫻井", "サクライ", 1), ("渡部", "ワタナベ", 2),
    ("吉川", "ヨシカワ", 2), ("山内", "ヤマウチ", 2), ("西田", "ニシダ", 2), ("飯田", "イイダ", 2),
    ("東", "ヒガシ", 2), ("黒木", "クロキ", 2), ("有村", "アリムラ", 2), ("鮫島", "サメシマ", 2),
    ("濵田", "ハマダ", 1), ("浜田", "ハマダ", 2), ("國分", "コクブ", 1), ("国分", "コクブ", 2),
]
GIVEN = [
    ("太郎", "タロウ"), ("一郎", "イチロウ"), ("健", "ケン"), ("健太", "ケンタ"), ("翔太", "ショウタ"),
    ("大輔", "ダイスケ"), ("誠", "マコト"), ("浩", "ヒロシ"), ("隆", "タカシ"), ("茂", "シゲル"),
    ("清", "キヨシ"), ("博", "ヒロシ"), ("実", "ミノル"), ("勇", "イサム"), ("明", "アキラ"),
    ("拓也", "タクヤ"), ("直樹", "ナオキ"), ("和也", "カズヤ"), ("達也", "タツヤ"), ("蓮", "レン"),
    ("湊", "ミナト"), ("陽翔", "ハルト"), ("悠真", "ユウマ"), ("大和", "ヤマト"), ("颯太", "ソウタ"),
    ("樹", "イツキ"), ("陸", "リク"), ("悠人", "ユウト"), ("修", "オサム"), ("進", "ススム"),
    ("正", "タダシ"), ("豊", "ユタカ"), ("武", "タケシ"), ("秀樹", "ヒデキ"), ("慎吾", "シンゴ"),
    ("花子", "ハナコ"), ("陽子", "ヨウコ"), ("恵子", "ケイコ"), ("京子", "キョウコ"), ("幸子", "サチコ"),
    ("和子", "カズコ"), ("洋子", "ヨウコ"), ("美穂", "ミホ"), ("由美", "ユミ"), ("真由美", "マユミ"),
    ("智子", "トモコ"), ("裕子", "ユウコ"), ("直子", "ナオコ"), ("久美子", "クミコ"), ("明美", "アケミ"),
    ("愛", "アイ"), ("彩", "アヤ"), ("美咲", "ミサキ"), ("陽菜", "ヒナ"), ("結衣", "ユイ"),
    ("葵", "アオイ"), ("凛", "リン"), ("紬", "ツムギ"), ("芽依", "メイ"), ("結菜", "ユイナ"),
    ("さくら", "サクラ"), ("ひなた", "ヒナタ"), ("千尋", "チヒロ"), ("舞", "マイ"), ("恵", "メグミ"),
    ("節子", "セツコ"), ("澄子", "スミコ"), ("冨美子", "フミコ"), ("富美子", "フミコ"), ("眞理子", "マリコ"),
    ("真理子", "マリコ"), ("千代", "チヨ"), ("キヨ", "キヨ"), ("トメ", "トメ"), ("ハル", "ハル"),
]
TOWNS = [f"{a}{b}町" for a in ("山下", "東", "西", "南", "北", "中", "上", "下", "新", "本", "宮", "城", "桜",
                              "松", "竹", "梅", "川", "浜", "港", "天", "春", "夏", "秋", "冬", "紫")
         for b in ("", "原", "田", "野", "台", "ヶ丘", "が丘", "崎")]

RESIDENT_COLUMNS = ["atena_no", "household_no", "name", "name_kana", "birth_date", "sex", "relationship",
                    "address", "search_name", "search_kana", "search_address", "status", "kind"]


CITY = "鹿児島県鹿児島市"  # the bench municipality (named 鹿児島市, code 46xxx): its residents' addresses start so


def check_digit(body: str) -> str:
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(body)))
    r = total % 11
    return body + str(0 if r <= 1 else 11 - r)


def setup_django(db_name: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings.base")
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/madoguchi")
    parsed = urlparse(base)
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name]).fetchone():
            conn.execute(f'CREATE DATABASE "{db_name}"')
    os.environ["DATABASE_URL"] = urlunparse(parsed._replace(path=f"/{db_name}"))
    import django

    django.setup()


def generate(n: int, rng: random.Random):
    """Yield (row tuple) for n residents in households of 1–5."""
    from integration.normalize import normalize_address, normalize_kana, normalize_name

    weights = [w for *_x, w in SURNAMES]
    start, span = date(1930, 1, 1).toordinal(), (date(2025, 12, 31) - date(1930, 1, 1)).days
    serial, household = 0, 0
    while serial < n:
        household += 1
        hh_no = check_digit(f"{household:09d}")
        sur, sur_kana, _w = rng.choices(SURNAMES, weights)[0]
        # the residents of 鹿児島県鹿児島市 (the bench municipality); one in 50 households written without the
        # prefecture (stored whole, as are addresses of other municipalities)
        town = f"{rng.choice(TOWNS)}{rng.randint(1, 9)}丁目{rng.randint(1, 40)}番{rng.randint(1, 30)}号"
        address = f"鹿児島市{town}" if rng.random() < 0.02 else f"{CITY}{town}"
        addr_norm = normalize_address(address)
        size = min(rng.choice((1, 1, 2, 2, 3, 4, 5)), n - serial)
        for i in range(size):
            serial += 1
            given, given_kana = rng.choice(GIVEN)
            name, kana = f"{sur}　{given}", f"{sur_kana} {given_kana}"
            birth = date.fromordinal(start + rng.randrange(span))
            status = "resident" if rng.random() > 0.03 else "moved_out"
            yield (check_digit(f"1{serial:09d}"), hh_no, name, kana, birth.isoformat(), rng.choice("12"),
                   "世帯主" if i == 0 else rng.choice(("妻", "子", "子", "母")), address, normalize_name(name),
                   normalize_kana(kana), addr_norm, status, "japanese")


def load(n: int, rng: random.Random) -> float:
    from django.db import connection

    from integration.models import Resident

    table = Resident._meta.db_table
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        # Fill the NOT NULL columns this bench does not generate with ''.
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s AND is_nullable = 'NO' AND column_default IS NULL", [table])
        fillers = [(c, t) for c, t in cursor.fetchall() if c not in RESIDENT_COLUMNS and c != "id"]
        extra_cols = [c for c, _t in fillers]
        extra_vals = ["" if t in ("character varying", "text") else "now()" for _c, t in fillers]
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
            "AND indexname IN ('resident_name_trgm', 'resident_kana_trgm', 'resident_addr_trgm', "
            "'resident_birth_idx')", [table])
        indexes = cursor.fetchall()
        for name, _ddl in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cols = RESIDENT_COLUMNS + extra_cols
        raw = cursor.connection  # psycopg 3 connection
        with raw.cursor() as cur, cur.copy(f'COPY "{table}" ({", ".join(cols)}) FROM STDIN') as copy:
            for row in generate(n, rng):
                copy.write_row(row + tuple(extra_vals))
        copied = time.perf_counter()
        print(f"COPY {n:,} rows: {copied - started:.1f} s", flush=True)
        for name, ddl in indexes:
            t0 = time.perf_counter()
            cursor.execute(ddl)
            print(f"  index {name}: {time.perf_counter() - t0:.1f} s", flush=True)
        cursor.execute(f'ANALYZE "{table}"')
    return time.perf_counter() - started


def searches(count: int, rng: random.Random) -> list[tuple[str, dict]]:
    """Varied searches built from residents that exist (plus a few that match nobody)."""
    from integration.models import Resident

    ids = [rng.randint(1, Resident.objects.order_by("-pk").values_list("pk", flat=True).first())
           for _ in range(count)]
    people = {r.pk: r for r in Resident.objects.filter(pk__in=ids)}
    kinds = ["kanji_full", "kanji_surname", "kana_halfwidth", "hiragana", "wareki_birth", "surname_birth",
             "address", "atena_no", "old_form", "no_match"]
    out = []
    for i, pk in enumerate(ids):
        r = people.get(pk) or next(iter(people.values()))
        kind = kinds[i % len(kinds)]
        surname, _, given = r.name.partition("　")
        kana_sur, _, kana_given = r.name_kana.partition(" ")
        era = [("S", 1925), ("H", 1988), ("R", 2018), ("T", 1911)]
        b = r.birth_date
        wareki = next((f"{letter}{b.year - off}.{b.month}.{b.day}" for letter, off in era
                       if letter == ("T" if b < date(1926, 12, 25) else "S" if b < date(1989, 1, 8)
                                     else "H" if b < date(2019, 5, 1) else "R")), b.isoformat())
        if kind == "kanji_full":
            args = {"query": f"{surname} {given}"}
        elif kind == "kanji_surname":
            args = {"query": surname}
        elif kind == "kana_halfwidth":
            args = {"query": _to_halfwidth(r.name_kana)}
        elif kind == "hiragana":
            args = {"query": _to_hiragana(kana_sur + kana_given)}
        elif kind == "wareki_birth":
            args = {"birth_date": wareki}
        elif kind == "surname_birth":
            args = {"query": surname, "birth_date": wareki}
        elif kind == "address":
            args = {"address": r.address.removeprefix(CITY).removeprefix("鹿児島市")}
        elif kind == "atena_no":
            args = {"atena_no": r.atena_no}
        elif kind == "old_form":
            args = {"query": surname.replace("高", "髙").replace("崎", "﨑").replace("辺", "邊").replace("斎", "齋")
                    + given}
        else:
            args = {"query": "存在しない名前ですよ"}
        out.append((kind, args))
    return out


_HALF = dict(zip("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモ"
                 "ヤユヨラリルレロワヲンァィゥェォャュョッー",
                 "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｧｨｩｪｫｬｭｮｯｰ", strict=True))
_VOICED = {"ガ": "ｶﾞ", "ギ": "ｷﾞ", "グ": "ｸﾞ", "ゲ": "ｹﾞ", "ゴ": "ｺﾞ", "ザ": "ｻﾞ", "ジ": "ｼﾞ", "ズ": "ｽﾞ",
           "ゼ": "ｾﾞ", "ゾ": "ｿﾞ", "ダ": "ﾀﾞ", "ヂ": "ﾁﾞ", "ヅ": "ﾂﾞ", "デ": "ﾃﾞ", "ド": "ﾄﾞ", "バ": "ﾊﾞ",
           "ビ": "ﾋﾞ", "ブ": "ﾌﾞ", "ベ": "ﾍﾞ", "ボ": "ﾎﾞ", "パ": "ﾊﾟ", "ピ": "ﾋﾟ", "プ": "ﾌﾟ", "ペ": "ﾍﾟ",
           "ポ": "ﾎﾟ", "ヴ": "ｳﾞ", " ": " "}


def _to_halfwidth(kana: str) -> str:
    return "".join(_VOICED.get(ch) or _HALF.get(ch, ch) for ch in kana)


def _to_hiragana(kana: str) -> str:
    return "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in kana)


def address_queries(count: int, rng: random.Random) -> list[str]:
    """Pieces of existing residents' addresses: whole, from inside the prefix, across its end, only inside it,
    only after it, and random substrings of two characters and more."""
    from integration.models import Resident

    top = Resident.objects.order_by("-pk").values_list("pk", flat=True).first()
    addresses = list(Resident.objects.filter(pk__in=[rng.randint(1, top) for _ in range(count)])
                     .values_list("address", flat=True))
    fixed = [CITY, "鹿児島", "児島県鹿", "鹿児島市", "県鹿児島市", "市" + TOWNS[0], "島市" + TOWNS[1], CITY + TOWNS[2]]
    out = []
    for i in range(count - len(fixed)):
        text = addresses[i % len(addresses)]
        start = rng.randrange(len(text) - 1) if i % 2 else rng.randrange(0, min(len(CITY) + 1, len(text) - 1))
        out.append(text[start:rng.randint(start + 2, len(text))])
    return fixed + out


def compare_address_storage(actor: object, rng: random.Random, count: int) -> None:
    """The same address searches on the address stored whole (as before 2026-12-06) and without the municipality's
    prefix (as imports store it now): every query's full set of matching residents (SQL, no LIMIT) and
    person_search's answer must be equal; index build time and size and search timings of both are printed."""
    from django.db import connection

    from integration.models import AddressSearchPrefix, Resident
    from integration.normalize import LOCAL_MARK, municipality_prefix, normalize_address
    from integration.search import address_condition, person_search

    table = Resident._meta.db_table
    queries = address_queries(count, rng)

    def run(prefix: str) -> tuple[dict, dict, list[float]]:
        matched, answers, times = {}, {}, []
        with connection.cursor() as cursor:
            for query in queries:
                condition, params = address_condition(normalize_address(query), prefix)
                cursor.execute(f'SELECT count(*), md5(string_agg(atena_no, \',\' ORDER BY atena_no)) '  # noqa: S608
                               f'FROM "{table}" r WHERE {condition}', params)
                matched[query] = cursor.fetchone()
        for query in queries:
            t0 = time.perf_counter()
            found = person_search(actor=actor, address=query, limit=50)
            times.append((time.perf_counter() - t0) * 1000)
            answers[query] = (found.truncated, [view.atena_no for view in found] if not found.truncated
                              else len(found))
        return matched, answers, times

    def rebuild_index(label: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            t0 = time.perf_counter()
            cursor.execute('REINDEX INDEX "resident_addr_trgm"')
            built = time.perf_counter() - t0
            cursor.execute(f'VACUUM ANALYZE "{table}"')
            cursor.execute("SELECT pg_relation_size('resident_addr_trgm'), "
                           f'avg(length(search_address)) FROM "{table}"')  # noqa: S608
            size, length = cursor.fetchone()
        print(f"address trigram index, {label}: built in {built:.1f} s, {size / 2**20:.0f} MiB, "
              f"{float(length):.1f} characters on average", flush=True)

    AddressSearchPrefix.objects.all().delete()
    rebuild_index("address stored whole")
    whole = run("")
    prefix = municipality_prefix(connection.tenant)
    with connection.cursor() as cursor:
        t0 = time.perf_counter()
        cursor.execute(f'UPDATE "{table}" SET search_address = %s || substr(search_address, %s) '  # noqa: S608
                       "WHERE starts_with(search_address, %s)", [LOCAL_MARK, len(prefix) + 1, prefix])
        print(f"search_address rewritten without 「{prefix}」: {cursor.rowcount:,} rows in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    AddressSearchPrefix.objects.create(pk=1, prefix=prefix)
    rebuild_index("address without the municipality's prefix")
    local = run(prefix)
    differ = [q for q in queries if whole[0][q] != local[0][q] or whole[1][q] != local[1][q]]
    print(f"{len(queries)} address queries: {len(differ)} differ in the residents matched or in person_search's "
          f"answer {differ[:5]}; matches per query median {statistics.median(m[0] for m in whole[0].values()):.0f}, "
          f"{sum(1 for a in whole[1].values() if a[0])} truncated (> {1000} candidates)")
    for label, times in (("whole", whole[2]), ("without prefix", local[2])):
        print(f"person_search by address, {label:<15} p50 {statistics.median(times):7.1f} ms, p95 "
              f"{percentile(times, 95):7.1f} ms, max {max(times):7.1f} ms", flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--database", default="bench_madoguchi_search")
    parser.add_argument("--keep", action="store_true", help="keep the municipality (and its data) afterwards")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--address-queries", type=int, default=300,
                        help="pieces of residents' addresses searched with the address stored whole and then "
                             "without the municipality's prefix: result sets compared, timings of both")
    args = parser.parse_args()
    setup_django(args.database)

    from django.core.management import call_command
    from django.db import connection

    from integration.search import person_search
    from tenants.accounts.models import User
    from tenants.models import Municipality
    from tenants.services import municipality_provision
    from tenants.template import template_ensure
    from tenants.validators import municipality_check_digit

    rng = random.Random(args.seed)
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    template_ensure(force=True)
    connection.set_schema_to_public()
    while True:  # a municipality of 鹿児島県 (46), named 鹿児島市: its residents live at 鹿児島県鹿児島市…
        body = f"46{secrets.randbelow(900) + 100:03d}"
        code = body + str(municipality_check_digit(body))
        if not Municipality.objects.filter(code=code).exists():
            break
    slug = f"bench{secrets.token_hex(3)}"
    municipality = municipality_provision(code=code, slug=slug, name="鹿児島市", areas="juki",
                                          admin_password=secrets.token_urlsafe(16)).municipality
    try:
        connection.set_tenant(municipality)
        print(f"municipality {slug} ({municipality.schema_name}); loading {args.residents:,} residents", flush=True)
        seconds = load(args.residents, rng)
        print(f"load total: {seconds:.1f} s", flush=True)
        actor = User.objects.get(username="admin")
        if args.address_queries:
            compare_address_storage(actor, rng, args.address_queries)
        plan = searches(args.searches, rng)
        for _kind, params in plan[:20]:  # warm-up (plans, caches), not measured
            person_search(actor=actor, **params)
        timings: dict[str, list[float]] = {}
        hits: dict[str, list[int]] = {}
        for kind, params in plan:  # the address stored without the municipality's prefix (as imports store it)
            t0 = time.perf_counter()
            found = person_search(actor=actor, **params)
            timings.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
            hits.setdefault(kind, []).append(len(found))
        allv = [v for vals in timings.values() for v in vals]
        print(f"\n{len(allv)} searches on {args.residents:,} residents (person_search incl. audit record)")
        print(f"{'kind':<16}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'avg hits':>10}")
        for kind, vals in timings.items():
            print(f"{kind:<16}{len(vals):>5}{statistics.median(vals):>10.1f}{percentile(vals, 95):>10.1f}"
                  f"{max(vals):>10.1f}{statistics.mean(hits[kind]):>10.1f}")
        print(f"{'ALL':<16}{len(allv):>5}{statistics.median(allv):>10.1f}{percentile(allv, 95):>10.1f}"
              f"{max(allv):>10.1f}")
    finally:
        connection.set_schema_to_public()
        if not args.keep:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{municipality.schema_name}" CASCADE')
            Municipality.objects.filter(pk=municipality.pk).delete()
            print("municipality dropped")


if __name__ == "__main__":
    main()

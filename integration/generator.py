"""Synthetic core-system data in the shipped layouts, deterministic by seed (``generate_core_data``).

Households are built first (head, spouse, children, sometimes parents or a married child with a
grandchild), so 続柄, ages and eligibilities agree: 国保 for a share of households under 75, 介護 from 65,
後期高齢 from 75, 児童手当 to the parent of children up to 18, 学齢簿 for ages 6–15, 印鑑登録 for
some adults. A few names carry 外字 as PUA code points with a matching conversion CSV; a few
residents are under a DV等支援措置.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from integration.checkdigits import with_check_digit

SURNAMES = [
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
    ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"),
    ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"), ("阿部", "アベ"),
    ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカシマ"), ("前田", "マエダ"), ("藤田", "フジタ"),
    ("小川", "オガワ"), ("岡田", "オカダ"), ("後藤", "ゴトウ"), ("長谷川", "ハセガワ"), ("村上", "ムラカミ"),
    ("近藤", "コンドウ"), ("坂本", "サカモト"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("西村", "ニシムラ"),
    ("福田", "フクダ"), ("太田", "オオタ"), ("三浦", "ミウラ"), ("藤井", "フジイ"), ("岡本", "オカモト"),
    ("松田", "マツダ"), ("中川", "ナカガワ"), ("原田", "ハラダ"), ("小野", "オノ"), ("竹内", "タケウチ"),
    ("髙橋", "タカハシ"), ("渡邉", "ワタナベ"), ("齋藤", "サイトウ"), ("濱田", "ハマダ"), ("西郷", "サイゴウ"),
    ("東郷", "トウゴウ"), ("大久保", "オオクボ"), ("有村", "アリムラ"), ("鮫島", "サメジマ"), ("肝付", "キモツキ"),
]
MALE = [
    ("太郎", "タロウ"), ("一郎", "イチロウ"), ("健一", "ケンイチ"), ("大輔", "ダイスケ"), ("翔太", "ショウタ"),
    ("蓮", "レン"), ("湊", "ミナト"), ("陽翔", "ハルト"), ("誠", "マコト"), ("浩", "ヒロシ"), ("隆", "タカシ"),
    ("茂", "シゲル"), ("拓也", "タクヤ"), ("直樹", "ナオキ"), ("悠真", "ユウマ"), ("大和", "ヤマト"),
    ("清", "キヨシ"), ("勇", "イサム"), ("修", "オサム"), ("和也", "カズヤ"), ("健太", "ケンタ"), ("樹", "イツキ"),
]
FEMALE = [
    ("花子", "ハナコ"), ("陽子", "ヨウコ"), ("美咲", "ミサキ"), ("結衣", "ユイ"), ("さくら", "サクラ"),
    ("陽葵", "ヒマリ"), ("凛", "リン"), ("恵子", "ケイコ"), ("幸子", "サチコ"), ("直美", "ナオミ"),
    ("由美", "ユミ"), ("愛", "アイ"), ("七海", "ナナミ"), ("芽依", "メイ"), ("和子", "カズコ"), ("節子", "セツコ"),
    ("久美子", "クミコ"), ("真由美", "マユミ"), ("葵", "アオイ"), ("紬", "ツムギ"), ("美穂", "ミホ"),
    ("千尋", "チヒロ"),
]
# Invented 町字 (no real municipality's addresses): demo cities are fictional, and so are their streets.
TOWNS = ["本町一丁目", "本町二丁目", "駅前通", "中央三丁目", "さくら台一丁目", "さくら台二丁目", "みどり町",
         "あおば町", "港町四丁目", "山手五丁目", "ひかりが丘一丁目", "ひかりが丘二丁目", "川端町", "北原三丁目",
         "南原六丁目", "東浜二丁目", "西ヶ丘四丁目", "若葉台七丁目", "新田一丁目", "旭町"]
SCHOOLS = ["中央", "本町", "さくら台", "みどり"]
BUILDINGS = ["サンハイツ", "コーポ桜島", "メゾン城山", "グランドール天文館", "ハイム錦江"]
# Foreign families: (family name alphabetic, family name kana, nationality, residence status of the head,
# male given names, female given names); each member draws a given name of their own.
FOREIGN = [
    ("NGUYEN", "グエン", "ベトナム", "技術・人文知識・国際業務",
     [("VAN AN", "ヴァン アン"), ("DUC MINH", "ドゥック ミン"), ("QUANG HUY", "クアン フイ"),
      ("THANH LONG", "タイン ロン")],
     [("THI HOA", "ティ ホア"), ("THI LAN", "ティ ラン"), ("NGOC ANH", "ゴック アイン"),
      ("THU TRANG", "トゥー チャン")]),
    ("WANG", "ワン", "中国", "永住者",
     [("XIAOMING", "シャオミン"), ("HAORAN", "ハオラン"), ("ZIHAN", "ズーハン"), ("JUNJIE", "ジュンジエ")],
     [("MEILING", "メイリン"), ("XIN", "シン"), ("YUTONG", "ユートン"), ("JIAYI", "ジアイー")]),
    ("SANTOS", "サントス", "フィリピン", "定住者",
     [("JOSE", "ホセ"), ("MARK ANTHONY", "マーク アンソニー"), ("PAOLO", "パオロ"), ("RAFAEL", "ラファエル")],
     [("MARIA CLARA", "マリア クララ"), ("ANGELICA", "アンジェリカ"), ("JOY", "ジョイ"), ("KRISTINE", "クリスティン")]),
    ("KIM", "キム", "韓国", "特別永住者",
     [("MINJUN", "ミンジュン"), ("SEOJUN", "ソジュン"), ("DOYUN", "ドユン"), ("JIHO", "ジホ")],
     [("SEOYEON", "ソヨン"), ("JIWOO", "ジウ"), ("HAYOON", "ハユン"), ("SUAH", "スア")]),
    ("SILVA", "シルバ", "ブラジル", "定住者",
     [("LUCAS", "ルーカス"), ("GABRIEL", "ガブリエル"), ("MATEUS", "マテウス"), ("RAFAEL", "ハファエル")],
     [("ANA", "アナ"), ("JULIA", "ジュリア"), ("BEATRIZ", "ベアトリス"), ("LARISSA", "ラリッサ")]),
]
# A dependent's status follows the head's where the law ties them (家族滞在 for a worker's family).
FAMILY_STATUS = {"技術・人文知識・国際業務": "家族滞在"}
# 外字: local PUA code point → (UCS with IVS if any, MJ文字図形名, base form used in the visible name)
GAIJI = [("\ue000", "\U00020bb7", "MJ000000", "吉"), ("\ue001", "葛\U000e0102", "MJ007167", "葛"),
         ("\ue002", "邉\U000e0103", "MJ028136", "辺"), ("\ue003", "髙", "MJ028989", "高")]
GAIJI_SURNAMES = [("\ue000田", "ヨシダ"), ("\ue001西", "カサイ"), ("渡\ue002", "ワタナベ"), ("\ue003木", "タカギ")]


DEMO_CODE = "469998"  # 46 + an unassigned number 999 + check digit: no real municipality has it
DEMO_CITY = "みなみデモ市"


def _prefecture(municipality_code: str) -> str:
    from tenants.validators import PREFECTURES

    number = int(municipality_code[:2]) if municipality_code[:2].isdigit() else 0
    return PREFECTURES[number - 1] if 1 <= number <= len(PREFECTURES) else ""


@dataclass
class Person:
    atena_no: str
    household_no: str
    name: str
    name_kana: str
    birth_date: date
    sex: str
    relationship: str
    head_name: str
    address: str
    address_katagaki: str
    address_code: str
    postcode: str
    became_resident_on: date
    status: str = "resident"
    kind: str = "japanese"
    name_alpha: str = ""
    nationality: str = ""
    residence_status: str = ""
    residence_period_end: date | None = None
    resident_code: str = ""
    honseki: str = ""
    hittousha: str = ""
    extra: dict = field(default_factory=dict)

    def row(self) -> dict:
        row = dict(self.__dict__)
        row["address_set_on"] = self.became_resident_on
        row["notified_on"] = self.became_resident_on + timedelta(days=3)
        return row


def _plus_years(value: date, years: int) -> date:
    try:
        return value.replace(year=value.year + years)
    except ValueError:  # 29 February
        return value.replace(year=value.year + years, day=28)


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class CoreDataGenerator:
    def __init__(self, *, residents: int, seed: int = 1, today: date | None = None, gaiji_rate: float = 0.003,
                 municipality_code: str = DEMO_CODE, city_name: str = DEMO_CITY) -> None:
        self.target = residents
        self.city = f"{_prefecture(municipality_code)}{city_name}"
        self.city_name = city_name
        self.lg_code = municipality_code[:5]
        self.rng = random.Random(seed)
        self.today = today or date(2026, 4, 1)
        self.gaiji_rate = gaiji_rate
        self.people: list[Person] = []
        self.used_gaiji: set[str] = set()

    def _birth(self, age: int) -> date:
        return _plus_years(self.today, -age) - timedelta(days=self.rng.randint(0, 364))

    def _surname(self) -> tuple[str, str]:
        if self.rng.random() < self.gaiji_rate:
            name, kana = self.rng.choice(GAIJI_SURNAMES)
            self.used_gaiji.update(ch for ch in name if "\ue000" <= ch <= "\uf8ff")
            return name, kana
        return self.rng.choice(SURNAMES)

    def _given(self, names: list[tuple[str, str]], taken: set[str]) -> tuple[str, str]:
        """A given name not yet used in this household (parents and children never share one)."""
        free = [name for name in names if name[0] not in taken] or names
        chosen = self.rng.choice(free)
        taken.add(chosen[0])
        return chosen

    def generate(self) -> list[Person]:
        rng = self.rng
        serial = 0
        household_serial = 0
        while len(self.people) < self.target:
            household_serial += 1
            household_no = with_check_digit(f"{household_serial + 50_000_000:09d}")
            town = rng.choice(TOWNS)
            address = f"{self.city}{town}{rng.randint(1, 40)}番{rng.randint(1, 30)}号"
            katagaki = f"{rng.choice(BUILDINGS)}{rng.randint(1, 9)}0{rng.randint(1, 9)}号" if rng.random() < 0.3 else ""
            postcode = f"89{rng.randint(0, 9)}-{rng.randint(0, 9999):04d}"
            address_code = f"{self.lg_code}{TOWNS.index(town):03d}{rng.randint(0, 999):03d}"
            moved_in = self._birth(rng.randint(0, 30))
            surname, surname_kana = self._surname()
            foreign = FOREIGN[rng.randrange(len(FOREIGN))] if rng.random() < 0.02 else None
            members: list[tuple[str, int, str]] = []  # (relationship, age, sex)
            head_age = rng.choices([rng.randint(19, 34), rng.randint(35, 64), rng.randint(65, 98)], [3, 5, 3])[0]
            head_sex = "1" if rng.random() < 0.75 else "2"
            members.append(("世帯主", head_age, head_sex))
            shape = rng.random()
            if shape > 0.3 and head_age >= 22:
                members.append(("妻" if head_sex == "1" else "夫", max(18, head_age + rng.randint(-5, 5)),
                                "2" if head_sex == "1" else "1"))
            if shape > 0.45 and 22 <= head_age <= 60:
                for _ in range(rng.choice([1, 1, 2, 2, 3])):
                    child_age = head_age - rng.randint(22, 40)
                    if child_age >= 0:
                        members.append(("子", child_age, rng.choice("12")))
            if shape > 0.9 and 30 <= head_age <= 60:
                members.append(("母", head_age + rng.randint(22, 35), "2"))
            if 0.27 < shape < 0.3 and head_age >= 60:
                child_age = head_age - rng.randint(25, 35)
                members += [("子", child_age, "1"), ("子の妻", child_age + rng.randint(-3, 3), "2")]
                if child_age >= 25:
                    members.append(("子の子", rng.randint(0, child_age - 22), rng.choice("12")))
            head_name = ""
            given_names: set[str] = set()  # no two members of one household share a full name
            for relationship, age, sex in members:
                serial += 1
                given, given_kana = self._given(MALE if sex == "1" else FEMALE, given_names)
                last, last_kana = (surname, surname_kana) if relationship not in ("母",) or rng.random() < 0.7 \
                    else self._surname()
                person = Person(
                    atena_no=with_check_digit(f"{serial + 10_000_000:09d}"), household_no=household_no,
                    name=f"{last}　{given}", name_kana=f"{last_kana}　{given_kana}", birth_date=self._birth(age),
                    sex=sex, relationship=relationship, head_name="", address=address, address_katagaki=katagaki,
                    address_code=address_code, postcode=postcode, became_resident_on=moved_in,
                    resident_code=f"{rng.randint(10**10, 10**11 - 1)}",
                    honseki=f"{self.city}{rng.choice(TOWNS)}{rng.randint(1, 40)}番地",
                )
                if foreign and relationship in ("世帯主", "妻", "夫", "子"):
                    family, family_kana, nationality, status, males, females = foreign
                    alpha, kana = self._given(males if sex == "1" else females, given_names)
                    person.kind, person.nationality = "foreign", nationality
                    person.name = person.name_alpha = f"{family} {alpha}"
                    person.name_kana = f"{family_kana}　{kana}"
                    person.residence_status = status if relationship == "世帯主" else FAMILY_STATUS.get(status, status)
                    person.honseki = ""
                    person.residence_period_end = (None if status.endswith("永住者")
                                                   else self.today + timedelta(days=rng.randint(30, 1500)))
                elif relationship == "世帯主" or person.honseki:
                    person.hittousha = person.name if relationship == "世帯主" else head_name
                if relationship == "世帯主":
                    head_name = person.name
                person.head_name = head_name
                roll = rng.random()
                if roll < 0.02:
                    person.status = "moved_out"
                elif roll < 0.03 and age >= 60:
                    person.status = "deceased"
                self.people.append(person)
                if len(self.people) >= self.target:
                    break
        return self.people

    # -- eligibility and support measures (consistent with ages and households) --------------------
    def eligibility(self, area: str) -> Iterator[dict]:
        rng = random.Random(f"{area}-{self.rng.random()}")
        households: dict[str, list[Person]] = {}
        for p in self.people:
            households.setdefault(p.household_no, []).append(p)
        kokuho_households = {h for h in households if rng.random() < 0.3}
        today = self.today
        for p in self.people:
            if p.status != "resident":
                continue
            age = _age(p.birth_date, today)
            start = max(p.became_resident_on, p.birth_date)
            if area == "kokuho" and p.household_no in kokuho_households and age < 75:
                head = households[p.household_no][0]
                yield {"atena_no": p.atena_no, "kind": "一般被保険者", "number": f"国{p.household_no[-6:]}",
                       "start_date": start, "details": {"household_head": head.atena_no}}
            elif area == "kaigo" and age >= 65:
                yield {"atena_no": p.atena_no, "kind": "第1号被保険者", "number": f"{p.atena_no}",
                       "start_date": max(start, _plus_years(p.birth_date, 65) - timedelta(days=1)),
                       "details": {"care_level": rng.choice(["", "", "", "要支援1", "要介護1", "要介護3"])}}
            elif area == "kouki" and age >= 75:
                yield {"atena_no": p.atena_no, "kind": "被保険者", "number": f"{p.atena_no[-8:]}",
                       "start_date": max(start, _plus_years(p.birth_date, 75)),
                       "details": {"copay": rng.choice(["1割", "1割", "2割", "3割"])}}
            elif area == "jidou_teate" and p.relationship in ("世帯主", "子"):
                children = [c for c in households[p.household_no] if c.status == "resident"
                            and _age(c.birth_date, today) <= 18
                            and c.relationship == ("子" if p.relationship == "世帯主" else "子の子")]
                if children and _age(p.birth_date, today) >= 18:
                    yield {"atena_no": p.atena_no, "kind": "受給者", "number": f"児{p.atena_no[-7:]}",
                           "start_date": max(start, min(c.birth_date for c in children)),
                           "details": {"children": str(len(children))}}
            elif area == "gakureibo" and 6 <= age <= 15:
                school = "小学校" if age <= 12 else "中学校"
                yield {"atena_no": p.atena_no, "kind": school, "number": f"学{p.atena_no[-7:]}",
                       "start_date": max(start, date(p.birth_date.year + (7 if school == "小学校" else 13), 4, 1)),
                       "details": {"school": f"{self.city_name}立{rng.choice(SCHOOLS)}{school}",
                                   "grade": str(age - 5 if school == "小学校" else age - 12)}}
            elif area == "inkan" and age >= 18 and rng.random() < 0.45:
                yield {"atena_no": p.atena_no, "kind": "印鑑登録", "number": f"{p.atena_no[-8:]}",
                       "start_date": max(start, _plus_years(p.birth_date, 18))}
            elif area == "zei" and age >= 18:
                yield {"atena_no": p.atena_no, "kind": rng.choice(["課税", "課税", "非課税"]),
                       "number": f"税{p.atena_no[-7:]}", "start_date": date(today.year, 4, 1),
                       "details": {"year": str(today.year)}}

    def support_measures(self) -> Iterator[dict]:
        rng = random.Random(f"support-{self.rng.random()}")
        for p in self.people:
            if p.status == "resident" and _age(p.birth_date, self.today) >= 18 and rng.random() < 0.003:
                yield {"op": "add", "atena_no": p.atena_no, "kind": rng.choice(["dv", "dv", "dv", "stalker"]),
                       "start_date": self.today - timedelta(days=rng.randint(0, 700)), "end_date": None,
                       "restrict_address": True, "note": "申出により住所等を非表示"}

    def gaiji_csv(self) -> str:
        lines = ["外字コード,UCS,MJ文字図形名,備考"]
        for local, ucs, mj, base in GAIJI:
            lines.append(f"U+{ord(local):04X},{' '.join(f'U+{ord(c):04X}' for c in ucs)},{mj},{base}の異体字")
        return "\n".join(lines) + "\n"


AREA_FILES = {"kokuho": "elig_kokuho_csv", "kaigo": "elig_kaigo_csv", "kouki": "elig_kouki_csv",
              "jidou_teate": "elig_jidou_teate_csv", "gakureibo": "elig_gakureibo_csv", "inkan": "elig_inkan_csv",
              "zei": "elig_zei_csv"}


def write_files(*, out: Path, municipality_code: str, areas: list[str], residents: int, seed: int,
                layouts_dir: Path, legacy: bool = True, gaiji_rate: float = 0.003,
                city_name: str = "") -> dict[str, Path]:
    """Write every shipped-layout file for the subscribed areas; returns layout key → file path."""
    from integration.writer import LayoutWriter

    out.mkdir(parents=True, exist_ok=True)
    generator = CoreDataGenerator(residents=residents, seed=seed, gaiji_rate=gaiji_rate,
                                  municipality_code=municipality_code, city_name=city_name or DEMO_CITY)
    people = generator.generate()

    def layout(key: str) -> dict:
        return json.loads((layouts_dir / f"{key}.json").read_text(encoding="utf-8"))

    written: dict[str, Path] = {}
    gaiji_path = out / "gaiji.csv"
    gaiji_path.write_text(generator.gaiji_csv(), encoding="utf-8")
    written["gaiji"] = gaiji_path
    plan: list[tuple[str, str, object]] = [("juki_standard_csv", "residents.csv", lambda: (p.row() for p in people))]
    if legacy:
        plan.append(("juki_legacy_fixed", "residents_legacy.dat", lambda: (p.row() for p in people)))
    for area, key in AREA_FILES.items():
        if area in areas:
            plan.append((key, f"eligibility_{area}.csv", lambda a=area: generator.eligibility(a)))
    plan.append(("support_measures_csv", "support_measures.csv", generator.support_measures))
    for key, name, rows in plan:
        path = out / name
        with path.open("wb") as stream:
            LayoutWriter(layout(key), municipality_code=municipality_code, stream=stream).write(rows())
        written[key] = path
    return written

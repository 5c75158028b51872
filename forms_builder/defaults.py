"""The default 様式 drawn by us (blank page + our own lines and labels), editable by each municipality.

Each form is described with ``Sheet`` (a small builder that places labelled cells, option circles, 枡目,
member tables and signature boxes on an A4 page in mm) and installed by
``services.templates_install_defaults`` as version 1 of a template with ``origin = default``.
Codes follow the catalogue's ``Procedure.forms`` where it names one; ``procedures`` adds the procedures a
form serves that the catalogue does not list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LEFT, RIGHT, TOP = 12.0, 198.0, 10.0
WIDTH = RIGHT - LEFT


@dataclass
class Sheet:
    title: str
    fields: list[dict] = field(default_factory=list)
    y: float = TOP
    _n: int = 0

    def _key(self) -> str:
        self._n += 1
        return f"f{self._n:02d}"

    def add(self, **spec: Any) -> dict:
        spec.setdefault("key", self._key())
        self.fields.append(spec)
        return spec

    # ------------------------------------------------------------------ page head
    def head(self, *, addressee: bool = True) -> Sheet:
        self.add(
            type="label",
            text=self.title,
            x=LEFT,
            y=self.y + 4,
            w=150,
            h=10,
            size=16,
            bold=True,
            align="center",
            label="表題",
        )
        self.add(type="qr", binding="case.label", x=RIGHT - 18, y=self.y, w=18, h=18, label="受付番号QR", optional=True)
        self.add(
            type="text",
            binding="case.label",
            x=RIGHT - 26,
            y=self.y + 18.5,
            w=26,
            h=4,
            size=7,
            font="gothic",
            align="right",
            label="受付番号",
            optional=True,
        )
        self.y += 24
        if addressee:
            self.add(type="text", binding="office.mayor", x=LEFT, y=self.y, w=60, h=7, size=11, label="宛先")
            self.add(type="label", text="様", x=LEFT + 60, y=self.y + 1, w=8, h=6, size=10)
            self.add(type="label", text="届出日", x=RIGHT - 72, y=self.y + 1, w=14, h=6, size=8)
            self.add(
                type="text",
                binding="case.received_date|wareki",
                x=RIGHT - 58,
                y=self.y,
                w=58,
                h=7,
                size=11,
                label="届出日",
            )
            self.y += 10
        return self

    # ------------------------------------------------------------------ cells
    def cells(self, *items: tuple, h: float = 11.0) -> Sheet:
        """A row of cells; each item is (label, binding, width, options dict). Widths are scaled to the row."""
        total = sum(item[2] for item in items)
        x = LEFT
        for item in items:
            label, binding, width = item[0], item[1], item[2] * WIDTH / total
            options = dict(item[3]) if len(item) > 3 else {}
            self.add(type="frame", x=x, y=self.y, w=width, h=h, text=label)  # the caption in the cell's corner
            kind = options.pop("type", "text")
            if kind == "circle":
                choices = options.pop("choices")
                step = (width - 4) / len(choices)
                opts = []
                for index, (value, text) in enumerate(choices):
                    ox = x + 2 + index * step
                    self.add(
                        type="label", text=text, x=ox, y=self.y + 4.5, w=step, h=5.5, size=9, align="center", lines=1
                    )
                    opts.append(
                        {
                            "value": value,
                            "label": text,
                            "x": round(ox + step / 2 - 5.5, 2),
                            "y": round(self.y + 4.0, 2),
                            "w": 11.0,
                            "h": 6.5,
                        }
                    )
                self.add(
                    type="circle",
                    binding=binding,
                    x=x,
                    y=self.y + 3.5,
                    w=width,
                    h=h - 3.6,
                    options=opts,
                    label=label,
                    **options,
                )
            elif kind == "boxes":
                cells = options.pop("cells")
                cell_w = min((width - 4) / cells, 6.0)
                self.add(
                    type="boxes",
                    binding=binding,
                    cells=cells,
                    x=x + 2,
                    y=self.y + 4,
                    w=cell_w * cells,
                    h=h - 5,
                    label=label,
                    **options,
                )
            elif kind == "signature":
                self.add(
                    type="signature",
                    x=x + 1,
                    y=self.y + 3.8,
                    w=width - 2,
                    h=h - 4.6,
                    label=label,
                    text=options.get("text", ""),
                    writer="resident",
                )
            else:
                self.add(
                    type="text",
                    binding=binding,
                    x=x,
                    y=self.y + 3.6,
                    w=width,
                    h=h - 4,
                    label=label,
                    size=options.pop("size", 11),
                    **options,
                )
            x += width
        self.y += h
        return self

    def gap(self, mm: float = 3.0) -> Sheet:
        self.y += mm
        return self

    def heading(self, text: str) -> Sheet:
        self.add(type="label", text=text, x=LEFT, y=self.y, w=WIDTH, h=5.5, size=9, bold=True)
        self.y += 6
        return self

    def table(self, label: str, columns: list[tuple], *, rows: int = 6, row_h: float = 9.0, exclude: str = "",
              rows_of: str = "") -> Sheet:
        """A member table: a header row, then ``rows`` rows filled from the document's persons (or, with
        ``rows_of="children"``, the children of the document's person). Persons beyond ``rows`` go on 続紙."""
        total = sum(c[2] for c in columns)
        x = LEFT
        specs = []
        for title, binding, width, *rest in columns:
            width = width * WIDTH / total
            options = dict(rest[0]) if rest else {}
            self.add(type="frame", x=x, y=self.y, w=width, h=5, text=title, align="center")
            for index in range(rows):
                self.add(type="frame", x=x, y=self.y + 5 + index * row_h, w=width, h=row_h)
            specs.append(
                {
                    "key": binding.replace(".", "_").replace("|", "_"),
                    "label": f"{label}：{title}",
                    "type": "text",
                    "binding": binding,
                    "x": round(x - LEFT, 2),
                    "y": 0.5,
                    "w": round(width, 2),
                    "h": row_h - 1,
                    "size": options.pop("size", 10),
                    **options,
                }
            )
            x += width
        spec = {
            "type": "rows",
            "label": label,
            "x": LEFT,
            "y": self.y + 5,
            "w": WIDTH,
            "rows": rows,
            "row_h": row_h,
            "columns": specs,
        }
        if exclude:
            spec["exclude"] = exclude
        if rows_of:
            spec["rows_of"] = rows_of
        self.add(**spec)
        self.y += 5 + rows * row_h
        return self

    def note(self, text: str, *, h: float = 8.0) -> Sheet:
        self.add(type="label", text=text, x=LEFT, y=self.y + 0.5, w=WIDTH, h=h, size=7, lines=3)
        self.y += h + 1
        return self


SEX = {"type": "circle", "choices": [("1", "男"), ("2", "女")]}
# Names are never shortened (a name is what the register says): a long one (an alphabet name of five words)
# shrinks, then takes a second line, down to 5.5 pt.
NAME = {"size": 13, "min_size": 5.5, "lines": 2}
KANA = {"size": 9, "min_size": 5.5, "lines": 2}
KATAGAKI = {"optional": True}


def _person_block(sheet: Sheet, role: str, title: str) -> Sheet:
    return sheet.cells(
        (f"{title}のフリガナ", f"{role}.name_kana", 90, KANA),
        ("生年月日", f"{role}.birth_date|wareki", 55),
        ("性別", f"{role}.sex", 25, SEX),
        h=9,
    ).cells(
        (f"{title}の氏名", f"{role}.name", 90, NAME),
        ("続柄", f"{role}.relationship", 35),
        ("電話番号", "input.phone", 45),
        h=12,
    )


def _address_block(sheet: Sheet, label: str = "住所") -> Sheet:
    return sheet.cells(
        (label, "computed.address", 140, {"lines": 2, "size": 11}), ("郵便番号", "computed.postcode|postcode", 30), h=13
    ).cells(("方書（建物名・部屋番号）", "computed.katagaki", 1, KATAGAKI), h=9)


MEMBERS = [
    ("氏名", "row.name", 44, NAME),
    ("フリガナ", "row.name_kana", 40, {**KANA, "size": 8}),
    ("生年月日", "row.birth_date|wareki", 34),
    ("性別", "row.sex|sex", 10),
    ("続柄", "row.relationship", 18),
]


def juki_idou() -> Sheet:
    s = Sheet("住民異動届").head()
    s.cells(
        (
            "届出の種類",
            "computed.juki_todoke_kind",
            90,
            {
                "type": "circle",
                "choices": [
                    ("tennyu", "転入"),
                    ("tenshutsu", "転出"),
                    ("tenkyo", "転居"),
                    ("setai_henkou", "世帯変更"),
                    ("setainushi_henkou", "世帯主変更"),
                ],
            },
        ),
        ("異動日", "case.event_date|wareki", 50),
        h=11,
    )
    s.cells(
        ("新しい住所", "computed.new_address", 130, {"lines": 2}),
        ("郵便番号", "computed.new_postcode|postcode", 30),
        h=13,
    )
    s.cells(("新しい住所の方書", "computed.new_katagaki", 100, KATAGAKI), ("新しい世帯主", "head.name", 60, NAME), h=11)
    s.cells(
        ("前の住所", "computed.old_address", 130, {"lines": 2}), ("前の世帯主", "computed.old_head", 50, NAME), h=13
    )
    s.gap(2).heading("異動する人")
    s.table("異動する人", MEMBERS, rows=6)
    s.gap(2).cells(
        ("届出人", "visitor.name", 70, NAME),
        ("異動する人との関係", "computed.notifier_relation", 40),
        ("電話番号", "input.phone", 50),
        h=12,
    )
    s.cells(("届出人の署名", "", 1, {"type": "signature", "text": "自署してください"}), h=16)
    return s


def kokuho_shutoku() -> Sheet:
    s = Sheet("国民健康保険 被保険者資格取得届").head()
    s.cells(
        ("資格取得日", "case.event_date|wareki", 60),
        (
            "取得の理由",
            "computed.kokuho_reason",
            110,
            {
                "type": "circle",
                "choices": [("tennyu", "転入"), ("shaho", "社保離脱"), ("birth", "出生"), ("other", "その他")],
            },
        ),
    )
    s.cells(
        ("世帯主の氏名", "head.name", 70, NAME),
        ("世帯主のフリガナ", "head.name_kana", 60, KANA),
        ("電話番号", "input.phone", 40),
        h=12,
    )
    _address_block(s)
    s.gap(2).heading("加入する人")
    s.table("加入する人", MEMBERS, rows=6)
    s.gap(2).cells(("届出人", "visitor.name", 70, NAME), ("世帯主との関係", "visitor.relationship|relation", 40), h=12)
    s.cells(("届出人の署名", "", 1, {"type": "signature"}), h=16)
    return s


def kokuho_soushitsu() -> Sheet:
    s = Sheet("国民健康保険 被保険者資格喪失届").head()
    s.cells(
        ("資格喪失日", "case.event_date|wareki", 60),
        (
            "喪失の理由",
            "computed.loss_reason",
            110,
            {
                "type": "circle",
                "choices": [("tenshutsu", "転出"), ("shibou", "死亡"), ("shaho", "社保加入"), ("other", "その他")],
            },
        ),
    )
    s.cells(
        ("世帯主の氏名", "head_event.name", 70, NAME),
        ("記号番号", "computed.kokuho_household_number", 60),
        ("電話番号", "input.phone", 40),
        h=12,
    )
    _address_block(s)
    s.gap(2).heading("喪失する人")
    s.table("喪失する人", MEMBERS[:3] + [("記号番号", "row.kokuho_number", 28)], rows=6)
    s.gap(2).cells(("届出人", "visitor.name", 70, NAME), ("世帯主との関係", "visitor.relationship|relation", 40), h=12)
    s.cells(("届出人の署名", "", 1, {"type": "signature"}), h=16)
    return s


def sousaihi(title: str, number_binding: str) -> Sheet:
    s = Sheet(title).head()
    s.heading("亡くなった方")
    s.cells(
        ("氏名", "person.name", 80, NAME),
        ("生年月日", "person.birth_date|wareki", 50),
        ("被保険者番号", number_binding, 50),
        h=12,
    )
    s.cells(("亡くなった方の世帯主", "head_event.name", 80, NAME), ("住所", "person.address", 100, {"lines": 2}), h=12)
    s.cells(("亡くなった日", "case.event_date|wareki", 60), ("葬祭を行った日", "input.funeral_date|wareki", 60), h=11)
    s.heading("申請者（葬祭を行った方）")
    s.cells(
        ("氏名", "visitor.name", 80, NAME),
        ("亡くなった方との関係", "visitor.relationship", 40),
        ("電話番号", "input.phone", 50),
        h=12,
    )
    s.cells(("申請者の住所", "visitor.address", 150, {"lines": 2}), h=13)
    s.cells(("振込先口座", "input.bank_account", 1), h=11)
    s.cells(("申請者の署名", "", 1, {"type": "signature"}), h=16)
    return s


def jt_nintei() -> Sheet:
    s = Sheet("児童手当 認定請求書").head()
    s.heading("請求者（児童を養育している方）")
    _person_block(s, "claimant", "請求者")
    _address_block(s)
    s.cells(
        (
            "公務員ですか",
            "answer.parent_public_servant",
            50,
            {"type": "circle", "choices": [("yes", "はい"), ("no", "いいえ")]},
        ),
        ("振込先口座", "input.bank_account", 120),
        h=11,
    )
    s.gap(2).heading("養育している児童")
    s.table(
        "児童",
        [
            ("氏名", "row.name", 50, NAME),
            ("生年月日", "row.birth_date|wareki", 40),
            ("続柄", "row.relationship", 20),
            ("同居", "computed.lives_together", 15),
        ],
        rows=5,
        exclude="claimant",
    )
    s.gap(2).cells(("請求者の署名", "", 1, {"type": "signature"}), h=16)
    return s


def jt_shoumetsu() -> Sheet:
    s = Sheet("児童手当 受給事由消滅届").head()
    _person_block(s, "person", "受給者")  # the procedure's person: the recipient (who may have died)
    _address_block(s)
    s.cells(
        (
            "消滅の理由",
            "computed.idou_kind",
            120,
            {
                "type": "circle",
                "choices": [("tenshutsu", "転出"), ("shibou", "死亡"), ("rikon", "離婚"), ("other", "その他")],
            },
        ),
        ("消滅日", "case.event_date|wareki", 50),
        h=11,
    )
    s.gap(2).heading("対象の児童")
    s.table(
        "児童", [("氏名", "row.name", 50, NAME), ("生年月日", "row.birth_date|wareki", 40)], rows=4, rows_of="children"
    )
    s.gap(2).cells(("受給者の署名", "", 1, {"type": "signature"}), h=16)
    return s


def kodomo_iryou() -> Sheet:
    s = Sheet("子ども医療費助成 受給資格登録申請書").head()
    _person_block(s, "claimant", "保護者")
    _address_block(s)
    s.gap(2).heading("対象の子")
    s.table(
        "対象の子",
        [
            ("氏名", "row.name", 50, NAME),
            ("生年月日", "row.birth_date|wareki", 40),
            ("性別", "row.sex|sex", 12),
            ("続柄", "row.relationship", 20),
        ],
        rows=5,
        exclude="claimant",
    )
    s.gap(2).cells(("振込先口座", "input.bank_account", 1), h=11)
    s.cells(("保護者の署名", "", 1, {"type": "signature"}), h=16)
    return s


def _single_person(
    title: str, *, reason: tuple | None = None, number: str = "", date_label: str = "異動日", old_address: bool = True
) -> Sheet:
    s = Sheet(title).head()
    _person_block(s, "person", "本人")
    _address_block(s)
    if old_address:
        s.cells(("前の住所", "computed.old_address", 1, {"lines": 2}), h=13)
    row = [(date_label, "case.event_date|wareki", 60)]
    if reason:
        row.append(reason)
    if number:
        row.append(("被保険者番号", number, 50, {"optional": True}))
    s.cells(*row, h=11)
    s.gap(2).cells(("届出人", "visitor.name", 70, NAME), ("本人との関係", "computed.notifier_relation", 40), h=12)
    s.cells(("届出人の署名", "", 1, {"type": "signature"}), h=16)
    return s


def inkan_touroku() -> Sheet:
    s = Sheet("印鑑登録申請書").head()
    _person_block(s, "person", "登録する方")
    _address_block(s)
    s.cells(
        ("登録する印鑑（押印）", "", 60, {"type": "signature", "text": "印鑑を押してください"}),
        ("申請者の署名", "", 120, {"type": "signature"}),
        h=34,
    )
    s.note("本人確認書類（マイナンバーカード・運転免許証など）で本人であることを確認します。")
    return s


def gak_tennyugaku() -> Sheet:
    s = Sheet("転入学（就学）通知の申請書").head()
    _person_block(s, "person", "児童生徒")
    _address_block(s)
    s.cells(
        ("学年", "computed.school_grade", 50),
        ("転入学の日", "case.event_date|wareki", 60),
        ("前の学校", "input.previous_school", 70),
        h=11,
    )
    s.gap(2).heading("保護者")
    s.cells(("保護者の氏名", "claimant.name", 90, NAME), ("電話番号", "input.phone", 60), h=12)
    s.cells(("保護者の署名", "", 1, {"type": "signature"}), h=16)
    return s


def certificate(title: str, kinds: list[tuple[str, str]]) -> Sheet:
    s = Sheet(title).head()
    _person_block(s, "person", "請求者")
    _address_block(s)
    s.cells(
        ("必要な証明", "computed.cert_kind", 120, {"type": "circle", "choices": kinds}),
        ("通数", "input.cert_copies", 25),
        h=11,
    )
    s.cells(("使用目的", "input.cert_purpose", 1), h=11)
    s.cells(("請求者の署名", "", 1, {"type": "signature"}), h=16)
    s.note("本人確認書類で請求者を確認します。代理人の請求は委任状が必要です。")
    return s


def _check_cells(sheet: Sheet) -> Sheet:
    """``certificate`` asks for circles by default; the 交付請求書 uses check marks (レ)."""
    for spec in sheet.fields:
        if spec.get("type") == "circle" and spec.get("binding") == "computed.cert_kind":
            spec["type"] = "check"
    return sheet


GUIDANCE_HTML = """<h1>手続きのご案内</h1>
<img class="qr-flow" alt="" src="{{ qr }}">
<p>受付番号 <strong>{{ case.label }}</strong>（{{ municipality }}）</p>
<p>本日の手続きと、手続きをする窓口です。この用紙を窓口でお見せください。</p>
{% for name, items in by_person.items %}<h2>{{ name }} さん</h2>
<table><tr><th>手続き</th><th>窓口</th><th>お持ちいただくもの</th></tr>
{% for item in items %}<tr><td>{{ item.name }}</td><td>{{ item.counter|default:"総合窓口" }}
{% if item.counter.location %}（{{ item.counter.location }}）{% endif %}</td>
<td>{{ item.documents|join:"、"|default:"-" }}</td></tr>{% endfor %}</table>{% endfor %}
<p>担当窓口：{{ counter|default:"" }}{% if counter.location %}（{{ counter.location }}）{% endif %}</p>
"""


# A certificate's 交付請求書 belongs to the business area of the certificate (application forms take the areas of
# the procedures they serve; the 手続き案内票 has none). Migration 0002 sets the same on installed templates.
CERTIFICATE_AREAS = {"cert_juminhyo": "juki", "cert_inkan": "inkan", "cert_koseki": "koseki", "cert_zei": "zei"}


def definitions() -> list[dict[str, Any]]:
    """Every default template: code, name, scope, kind, procedures and its fields (or HTML)."""
    forms = [
        (
            "juki_idou",
            "住民異動届",
            "case",
            "application",
            ["juki_tennyu", "juki_tenshutsu", "juki_tenkyo", "juki_setai_henkou"],
            juki_idou(),
        ),
        (
            "inkan_touroku",
            "印鑑登録申請書",
            "person",
            "application",
            ["inkan_touroku", "inkan_saitouroku"],
            inkan_touroku(),
        ),
        ("kokuho_shutoku", "国民健康保険 資格取得届", "case", "application", ["kokuho_kanyu"], kokuho_shutoku()),
        (
            "kokuho_soushitsu",
            "国民健康保険 資格喪失届",
            "case",
            "application",
            ["kokuho_soushitsu"],
            kokuho_soushitsu(),
        ),
        (
            "kokuho_sousaihi",
            "国民健康保険 葬祭費支給申請書",
            "case",
            "application",
            ["kokuho_sousaihi"],
            sousaihi("国民健康保険 葬祭費支給申請書", "person.kokuho_number"),
        ),
        ("jt_nintei", "児童手当 認定請求書", "case", "application", ["jt_nintei"], jt_nintei()),
        ("jt_shoumetsu", "児童手当 受給事由消滅届", "case", "application", ["jt_shoumetsu"], jt_shoumetsu()),
        (
            "kodomo_iryou",
            "子ども医療費助成 受給資格登録申請書",
            "case",
            "application",
            ["kodomo_iryou"],
            kodomo_iryou(),
        ),
        (
            "kaigo_todoke",
            "介護保険 資格取得・異動届",
            "person",
            "application",
            ["kaigo_shutoku", "kaigo_henkou"],
            _single_person(
                "介護保険 資格取得・異動届",
                number="person.kaigo_number",
                reason=(
                    "異動の理由",
                    "computed.idou_kind",
                    90,
                    {"type": "circle", "choices": [("tennyu", "転入"), ("tenkyo", "転居"), ("other", "その他")]},
                ),
            ),
        ),
        (
            "kaigo_soushitsu",
            "介護保険 資格喪失届",
            "person",
            "application",
            ["kaigo_soushitsu"],
            _single_person(
                "介護保険 資格喪失届",
                number="person.kaigo_number",
                date_label="喪失日",
                old_address=False,
                reason=(
                    "喪失の理由",
                    "computed.loss_reason",
                    90,
                    {"type": "circle", "choices": [("tenshutsu", "転出"), ("shibou", "死亡"), ("other", "その他")]},
                ),
            ),
        ),
        (
            "kouki_todoke",
            "後期高齢者医療 資格取得届",
            "person",
            "application",
            ["kouki_kanyu"],
            _single_person(
                "後期高齢者医療 資格取得届",
                date_label="資格取得日",
                reason=(
                    "取得の理由",
                    "computed.idou_kind",
                    90,
                    {"type": "circle", "choices": [("tennyu", "転入"), ("age75", "75歳到達"), ("other", "その他")]},
                ),
            ),
        ),
        (
            "kouki_sousaihi",
            "後期高齢者医療 葬祭費支給申請書",
            "case",
            "application",
            ["kouki_sousaihi"],
            sousaihi("後期高齢者医療 葬祭費支給申請書", "person.kouki_number"),
        ),
        ("gak_tennyugaku", "転入学（就学）通知の申請書", "person", "application", ["gak_tennyu"], gak_tennyugaku()),
        (
            "cert_juminhyo",
            "住民票の写し等交付請求書",
            "person",
            "certificate",
            [],
            _check_cells(
                certificate("住民票の写し等交付請求書", [("juminhyo", "住民票の写し"), ("kisai", "記載事項証明書")])
            ),
        ),
        (
            "cert_inkan",
            "印鑑登録証明書交付申請書",
            "person",
            "certificate",
            [],
            _check_cells(certificate("印鑑登録証明書交付申請書", [("inkan", "印鑑登録証明書")])),
        ),
        (
            "cert_koseki",
            "戸籍証明書等請求書",
            "person",
            "certificate",
            [],
            _check_cells(
                certificate(
                    "戸籍証明書等請求書", [("tohon", "全部事項"), ("shohon", "個人事項"), ("fuhyo", "戸籍の附票")]
                )
            ),
        ),
        (
            "cert_zei",
            "課税・所得証明書交付申請書",
            "person",
            "certificate",
            [],
            _check_cells(
                certificate("課税・所得証明書交付申請書", [("kazei", "課税証明書"), ("shotoku", "所得証明書")])
            ),
        ),
    ]
    result = []
    for order, (code, name, scope, kind, procedures, sheet) in enumerate(forms, start=1):
        result.append(
            {
                "code": code,
                "name": name,
                "scope": scope,
                "kind": kind,
                "area": CERTIFICATE_AREAS.get(code, ""),
                "procedures": procedures,
                "fields": sheet.fields,
                "html": "",
                "order": order * 10,
            }
        )
    result.append(
        {
            "code": "guidance",
            "name": "手続きのご案内（手続き案内票）",
            "scope": "case",
            "kind": "guidance",
            "area": "",
            "procedures": [],
            "fields": [],
            "html": GUIDANCE_HTML,
            "order": 5,
        }
    )
    return result

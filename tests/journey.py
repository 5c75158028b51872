"""The family-of-three 転入 journey across two counters (issue 17), shared by the browser test
(tests/test_counter_journey_browser.py) and the bench (bench/counter_journey_bench.py).

Counting rules (what a member of staff does, not what the browser does):
- a click: pressing a button or link, ticking a box or radio, choosing an option of a select (one action,
  as with the keyboard), opening the bookmarked login page;
- keystrokes: every character typed, plus each key pressed on its own (Enter);
- a full page load: the main frame's ``load`` event (a new document). A boosted htmx page change (history
  ``pushState``) or an in-place swap is not one.
Card reads, forms and signing are not part of this journey.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

ALL_AREAS = "juki,inkan,koseki,zei,kokuho,kaigo,kouki,jidou_teate,gakureibo"
PASSWORD_OF_STAFF = "Madoguchi-demo-2026"
FAMILY = [
    # name, kana, birth date, 続柄
    ("転入 太郎", "テンニュウ タロウ", "1990-04-01", "世帯主"),
    ("転入 花子", "テンニュウ ハナコ", "1992-06-15", "妻"),
    ("転入 一郎", "テンニュウ イチロウ", "2019-09-09", "子"),
]
MEMO = "国保の保険料の試算を希望（A窓口より）"
HANDOFF_NOTE = "国保の加入をお願いします"


def setup_city(city, django_db_blocker, in_tenant) -> None:  # noqa: ANN001
    """Two counters (総合窓口 1番 and 保険年金窓口), one member of staff each, the default catalogue — committed."""
    from navigation.services import catalogue_install_default
    from tenants.accounts.models import Counter
    from tenants.accounts.services import staff_create

    with django_db_blocker.unblock(), in_tenant(city):
        # Provisioning created the catalogue's counters (総合窓口 in 市民課, 保険年金窓口 in 保険年金課); the
        # municipality names its general counter as the journey expects.
        general = Counter.objects.get(name="総合窓口")
        general.name, general.sort_order = "総合窓口 1番", 1
        general.save()
        hoken_counter = Counter.objects.get(name="保険年金窓口")
        shimin, hoken = general.department, hoken_counter.department
        staff_create(actor=None, username="uketsuke", password=PASSWORD_OF_STAFF, display_name="受付 一郎",
                     areas=ALL_AREAS, department=shimin)
        staff_create(actor=None, username="hoken", password=PASSWORD_OF_STAFF, display_name="保険 花子",
                     areas=ALL_AREAS, department=hoken)
        catalogue_install_default()


@dataclass
class Counts:
    clicks: int = 0
    keystrokes: int = 0
    loads: int = 0
    steps: list[tuple[str, int, int, int]] = field(default_factory=list)
    status_changes: int = 0
    # bench only: server time (Server-Timing) and browser round trip of htmx status changes, in ms
    timings: dict[str, list[float]] = field(default_factory=dict)

    def mark(self, step: str) -> None:
        """Cumulative figures at the end of a step (printed by the bench, shown when the test fails)."""
        self.steps.append((step, self.clicks, self.keystrokes, self.loads))


class Staff:
    """One member of staff at one browser page; every action goes through here and is counted."""

    def __init__(self, page, counts: Counts) -> None:  # noqa: ANN001
        self.page = page
        self.counts = counts
        page.on("load", self._loaded)

    def _loaded(self, _page) -> None:  # noqa: ANN001
        self.counts.loads += 1

    def open(self, url: str) -> None:  # the bookmarked login page
        self.counts.clicks += 1
        self.page.goto(url)

    def click(self, locator) -> None:  # noqa: ANN001
        self.counts.clicks += 1
        locator.click()

    def check(self, locator) -> None:  # noqa: ANN001
        self.counts.clicks += 1
        locator.check()

    def choose(self, locator, **option: str) -> None:  # noqa: ANN001
        self.counts.clicks += 1
        locator.select_option(**option)

    def type(self, locator, text: str) -> None:  # noqa: ANN001
        self.counts.keystrokes += len(text)
        locator.fill(text)

    def press(self, locator, key: str) -> None:  # noqa: ANN001
        self.counts.keystrokes += 1
        locator.press(key)


def login(staff: Staff, server, slug: str, username: str, counter: str) -> None:  # noqa: ANN001
    page = staff.page
    staff.open(server.url(slug, "/accounts/login/"))
    staff.type(page.get_by_label("ユーザーID"), username)
    staff.type(page.get_by_label("パスワード"), PASSWORD_OF_STAFF)
    staff.click(page.get_by_role("button", name="ログイン"))
    page.wait_for_url("**/accounts/counter/**")
    if not page.get_by_label(counter).is_checked():  # preselected: the only counter of the department
        staff.check(page.get_by_label(counter))
    staff.click(page.get_by_role("button", name="この窓口で開始"))
    page.wait_for_url(server.url(slug, "/navi/cases/"))
    page.get_by_role("heading", name=re.compile(f"窓口受付：{counter}")).wait_for()


def answer_interview(staff: Staff) -> None:
    """Answer every question the engine asks with いいえ (no employee insurance → 国保 for all, no seal,
    no card, not a public servant), round after round, until nothing is left to ask."""
    page = staff.page
    done = page.get_by_text("確認することはありません（聞き取り完了）。")
    for _round in range(10):
        form = page.locator("form.cases-questions")
        if done.count() or not form.count():
            break
        fieldsets = form.locator("fieldset").all()
        # As staff ask: the household question first (「…の中に…方はいますか」); a person's own question only
        # while the engine still needs it.
        household = [f for f in fieldsets if "：" not in f.locator("legend").inner_text()]
        for fieldset in (household if household and _round == 0 else fieldsets):
            no = fieldset.get_by_label("いいえ", exact=True)
            if no.count() and not no.is_checked():
                staff.check(no)
        page.evaluate("document.querySelector('#interview').dataset.before = '1'")  # gone once the page is new
        staff.click(form.get_by_role("button", name=re.compile("回答を保存")))
        page.locator("#interview:not([data-before])").wait_for()
    done.wait_for()


def set_statuses_here(staff: Staff, other_counter: str) -> None:
    """Every procedure row not in ``other_counter``'s charge (the 総合窓口 also takes the 子育て and 学校 ones,
    whose counters this city does not have) gets its status, one by one, in place: 完了, except the My Number
    card one, 不要 with a reason (nobody holds a card)."""
    page = staff.page
    rows = page.locator("tr.cases-proc")
    for index in range(rows.count()):
        row = rows.nth(index)
        if other_counter in row.locator(".cases-proc__counter").inner_text():
            continue
        select = row.locator("select[name=status]")
        if not select.count() or select.input_value() == "done":
            continue
        row_id = row.get_attribute("id")
        if row.get_attribute("data-code") == "juki_card_henkou":
            staff.type(row.locator("input[name=reason]"), "カードを持っていない")
            staff.choose(select, value="not_needed")
            expected = "不要"
        else:
            staff.choose(select, value="done")
            expected = "完了"
        staff.counts.status_changes += 1
        page.locator(f"#{row_id} .cases-proc__status").filter(has_text=expected).wait_for()


def run(*, server, slug: str, browser, page, expect, time_status_changes: int = 0) -> Counts:  # noqa: ANN001, C901
    """The whole journey; returns the counts. ``expect`` is playwright.sync_api.expect. With
    ``time_status_changes`` (the bench), counter B also times that many htmx status changes of one procedure
    and of one household act before finishing (not counted as clicks)."""
    counts = Counts()
    a = Staff(page, counts)

    # Counter A: login, counter.
    login(a, server, slug, "uketsuke", "総合窓口 1番")
    counts.mark("login and counter (A)")

    # Search the first newcomer: nobody found, the newcomer form is filled with what was typed.
    father = FAMILY[0]
    search = page.get_by_role("search")
    a.type(search.get_by_label("氏名・フリガナ"), father[0])
    a.type(search.get_by_label("生年月日"), father[2])
    a.click(search.get_by_role("button", name="検索"))
    form = page.locator("#search-newcomer")
    expect(form.get_by_label(re.compile(r"^氏名 "))).to_have_value(father[0])
    a.type(form.get_by_label("氏名（フリガナ）"), father[1])
    a.type(form.get_by_label("続柄"), father[3])
    a.click(form.get_by_role("button", name="この人で受付を開始"))
    page.wait_for_url(re.compile(r".*/navi/cases/\d+/$"))
    case_url = page.url
    label = page.get_by_role("heading", level=1).inner_text().replace("受付", "").strip()
    counts.mark("search and first newcomer")

    # Two more newcomers on the case page (the form is open while the case has only newcomers).
    for name, kana, birth, relationship in FAMILY[1:]:
        box = page.locator("details.cases-newcomer")
        if not box.get_attribute("open") and box.get_attribute("open") != "":
            a.click(box.locator("summary"))
        a.type(box.get_by_label(re.compile(r"^氏名 ")), name)
        a.type(box.get_by_label("氏名（フリガナ）"), kana)
        a.type(box.get_by_label("生年月日"), birth)
        a.type(box.get_by_label("続柄"), relationship)
        a.click(box.get_by_role("button", name="追加"))
        page.get_by_role("heading", level=3, name=re.compile(name)).wait_for()
    counts.mark("two more newcomers")

    # 転入 and its date.
    moved_in = date.today() - timedelta(days=3)
    interview = page.locator("#interview")
    a.check(interview.get_by_label("転入", exact=True))
    a.type(interview.get_by_label("異動日・届出日"), moved_in.isoformat())
    a.click(interview.get_by_role("button", name="イベントを保存して判定"))
    page.locator('tr[data-code="juki_tennyu"]').first.wait_for()
    # 転入届 is one act for the three of them: shown once, with its persons.
    tennyu = page.locator('tr[data-code="juki_tennyu"]')
    expect(tennyu).to_have_count(1)
    for name, *_rest in FAMILY:
        expect(tennyu.locator(".cases-act__persons")).to_contain_text(name)
    counts.mark("転入 and date")

    answer_interview(a)
    counts.mark("interview")

    # Every procedure of this counter, in place.
    set_statuses_here(a, other_counter="保険年金窓口")
    counts.mark("statuses at A")

    # A memo on the case.
    memos = page.locator("#memos")
    a.type(memos.get_by_role("textbox", name=re.compile("メモ")), MEMO)
    a.click(memos.get_by_role("button", name="メモを保存"))
    expect(page.locator("#memos")).to_contain_text(MEMO)
    counts.mark("memo")

    # Hand-off: the target counter is already chosen (the counter of what is left).
    handoff = page.locator("#handoff")
    expect(handoff.get_by_label("引継ぎ先の窓口")).to_have_value(re.compile(r"\d+"))
    if "保険年金窓口" not in handoff.get_by_label("引継ぎ先の窓口").locator("option:checked").inner_text():
        a.choose(handoff.get_by_label("引継ぎ先の窓口"), label="保険年金窓口")
    a.type(handoff.get_by_label("引継ぎメモ"), HANDOFF_NOTE)
    a.click(handoff.get_by_role("button", name="引き継ぐ"))
    expect(page.get_by_text(re.compile("保険年金窓口」に引き継ぎました"))).to_be_visible()
    counts.mark("hand-off")

    # Counter B: another member of staff in another browser.
    context_b = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ja-JP")
    context_b.set_default_timeout(15000)
    try:
        page_b = context_b.new_page()
        b = Staff(page_b, counts)
        login(b, server, slug, "hoken", "保険年金窓口")
        counts.mark("login and counter (B)")
        row = page_b.locator(f'tr[data-case="{label}"]')
        expect(row).to_contain_text(HANDOFF_NOTE)
        b.click(row.get_by_role("button", name=f"{label} を再開"))
        page_b.wait_for_url(case_url)
        expect(page_b.locator("#memos")).to_contain_text(MEMO)
        counts.mark("resume (B)")

        if time_status_changes:
            counts.timings = time_status_changes_at(page_b, time_status_changes)
        # What this counter does, in one action.
        b.click(page_b.get_by_role("button", name=re.compile(r"この窓口（保険年金窓口）の手続 \d+ 件をすべて完了")))
        expect(page_b.locator("#persons-message")).to_contain_text("件の手続を「完了」にしました")
        counts.mark("statuses at B")

        b.click(page_b.get_by_role("button", name="受付を完了する"))
        expect(page_b.get_by_role("heading", name=f"受付 {label} を完了します")).to_be_visible()
        b.click(page_b.get_by_role("button", name="完了を確定する"))
        expect(page_b.get_by_text(re.compile(f"受付 {label} を完了しました"))).to_be_visible()
        counts.mark("close (B)")
    finally:
        context_b.close()
    return counts


def time_status_changes_at(page, n: int) -> dict[str, list[float]]:  # noqa: ANN001
    """``n`` htmx status changes (対応中 ⇄ 未対応) of one procedure row and of one household act, posted as the
    row's form posts them; the server time comes from the Server-Timing header."""
    out: dict[str, list[float]] = {}
    for kind, selector in (("one procedure", "tr.cases-proc:not(.cases-proc--act)"),
                           ("household act (3 rows)", "tr.cases-proc--act")):
        row = page.locator(selector).first
        form = row.locator("form.cases-proc__form")
        path = form.get_attribute("action")
        group = [g.get_attribute("value") for g in form.locator("input[name=group]").all()]
        original = [form.locator("select[name=status]").input_value(), form.locator("input[name=reason]").input_value()]
        result = page.evaluate(
            """async ([path, group, n, original]) => {
              const token = document.querySelector('meta[name="csrf-token"]').content;
              const server = [], browser = [];
              for (let i = 0; i < n; i++) {
                const body = new URLSearchParams({status: i % 2 ? "todo" : "doing", reason: ""});
                for (const g of group) body.append("group", g);
                const t0 = performance.now();
                const r = await fetch(path, {method: "POST", body,
                                             headers: {"HX-Request": "true", "X-CSRFToken": token}});
                await r.text();
                browser.push(performance.now() - t0);
                const m = (r.headers.get("Server-Timing") || "").match(/dur=([0-9.]+)/);
                server.push(m ? parseFloat(m[1]) : NaN);
                if (!r.ok) throw new Error("status change refused: " + r.status);
              }
              const back = new URLSearchParams({status: original[0], reason: original[1]});  // as it was
              for (const g of group) back.append("group", g);
              await fetch(path, {method: "POST", body: back, headers: {"HX-Request": "true", "X-CSRFToken": token}});
              return [server, browser];
            }""",
            [path, group, n, original],
        )
        out[f"{kind}: server"], out[f"{kind}: browser round trip"] = result
    return out

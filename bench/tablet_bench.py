"""Measure the signature round trip (issue 14, R2.8): from the resident pressing 「署名する」 on the tablet to
the staff's forms screen showing 署名済み — two Chromium contexts against a live server, as in the browser
tests. The tablet's click time and the moment a MutationObserver on the staff page sees 署名済み are both taken
with ``Date.now()`` in the same browser process (one clock).

    .venv/bin/python bench/tablet_bench.py [--runs 20]

Runs through pytest so that it uses the test database, a throw-away municipality and the live server of
``tests/conftest.py`` (nothing touches a real municipality). Prints median, p95 and max in ms and the load.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RUNS = int(os.environ.get("TABLET_BENCH_RUNS", "20"))

OBSERVE = """() => {
  window.__signedAt = 0;
  const seen = () => {
    const el = document.getElementById('tablet-state');
    if (!window.__signedAt && el && el.textContent.includes('署名済み')) { window.__signedAt = Date.now(); }
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, characterData: true});
  seen();
}"""
SUBMIT = "() => { const t = Date.now(); document.getElementById('sign-submit').click(); return t; }"


# The test suite's fixtures (its own test database, a throw-away municipality, the live server, Chromium);
# imported here so that they win over pytest-django's defaults of the same name.
from tests.conftest import (  # noqa: E402, F401
    _always_use_the_test_database,
    browser,
    django_db_setup,
    fresh_municipality,
    live_server_mt,
    page,
)


@pytest.mark.browser
@pytest.mark.schema
def test_signature_round_trip(live_server_mt, browser, page, fresh_municipality, django_db_blocker) -> None:  # noqa: F811
    from tests.test_forms_tablet_browser import _pair, _setup, _staff

    city = fresh_municipality(areas="juki,kokuho")
    case_pk = _setup(city, django_db_blocker)
    server = live_server_mt
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP", has_touch=True)
    context.set_default_timeout(120000)
    page.set_default_timeout(120000)
    tablet = context.new_page()
    times: list[float] = []
    try:
        _staff(page, server, city)
        _pair(page, tablet, server, city)
        for _run in range(RUNS):
            page.goto(server.url(city.slug, f"/forms/cases/{case_pk}/"))
            page.get_by_role("button", name="すべてを1つの PDF でタブレットで確認・署名").click()
            page.locator("#tablet-state", has_text="署名待ち").wait_for()
            tablet.get_by_role("heading", name="申請書の内容をご確認ください").wait_for()
            tablet.wait_for_function("() => [...document.images].every(i => i.complete)")
            canvas = tablet.locator("#signature-canvas")
            canvas.scroll_into_view_if_needed()
            box = canvas.bounding_box()
            tablet.mouse.move(box["x"] + 40, box["y"] + 100)
            tablet.mouse.down()
            for step in range(1, 20):
                tablet.mouse.move(box["x"] + 40 + step * 20, box["y"] + 60 + (step % 5) * 15)
            tablet.mouse.up()
            page.evaluate(OBSERVE)
            started = tablet.evaluate(SUBMIT)
            try:
                page.wait_for_function("() => window.__signedAt > 0", timeout=120000)
            except Exception as exc:
                raise AssertionError(f"run {_run}: tablet: {tablet.locator('body').inner_text()[:300]!r}; "
                                     f"staff: {page.locator('#tablet-panel').inner_text()[:300]!r}") from exc
            times.append(page.evaluate("() => window.__signedAt") - started)
            tablet.get_by_role("heading", name="お待ちください").wait_for()
    finally:
        page.goto("about:blank")
        context.close()
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    result = {"runs": len(times), "median_ms": round(statistics.median(times)), "p95_ms": round(p95),
              "max_ms": round(max(times)), "min_ms": round(min(times)),
              "loadavg": Path("/proc/loadavg").read_text().split()[:3], "cpus": os.cpu_count()}
    print("\nTABLET_BENCH " + json.dumps(result))


if __name__ == "__main__":
    runs = sys.argv[sys.argv.index("--runs") + 1] if "--runs" in sys.argv else str(RUNS)
    os.environ["TABLET_BENCH_RUNS"] = runs
    os.environ["DJANGO_SETTINGS_MODULE"] = "madoguchi.settings.test"
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    print("load before:", Path("/proc/loadavg").read_text().strip())
    sys.exit(pytest.main([str(Path(__file__).resolve()), "-p", "tests.conftest", "-q", "-s", "-p", "no:cacheprovider",
                          "-c", str(ROOT / "pyproject.toml"), "-o", "python_functions=test_*"]))

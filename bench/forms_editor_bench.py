"""Layout editor: frame time while dragging on a template with 80 fields, in Chromium (issue 14: < 16 ms).

    .venv/bin/python bench/forms_editor_bench.py [--fields 80] [--moves 120] [--runs 3]

Loads the real editor (forms_builder/static/forms_builder/editor.js, editor.css, interact.js from
node_modules) in a harness page with 80 positioned fields on an A4 page, then drags with the mouse through
Playwright (``page.mouse.move`` in many steps, one pointer event each):

- **handler**: time spent in the pointermove dispatch (a window capture listener starts the clock, a window
  bubble listener stops it: interact.js and the editor's move handler run in between), per event;
- **frame work**: per animation frame, the handler time of that frame's pointer events plus the frame's style
  and layout (forced in the ``requestAnimationFrame`` callback with ``getBoundingClientRect``; paint and
  compositing run off the main thread's measured part and are not included);
- **frame interval**: between ``requestAnimationFrame`` timestamps during the drag (16.7 ms at 60 Hz means no
  frame was dropped).

Three scenarios: one field dragged, one field resized, all 80 selected and dragged together. No server is
needed (the preview request fails quietly in the harness). Prints median / p95 / max and the machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "forms_builder" / "static" / "forms_builder"
INTERACT = ROOT / "node_modules" / "interactjs" / "dist" / "interact.min.js"


def fields(count: int) -> list[dict]:
    """``count`` text fields in a grid over the A4 page (4 columns), bound like a real form."""
    bindings = ["person.name", "person.name_kana", "person.birth_date|wareki", "person.address", "case.label"]
    rows = []
    for index in range(count):
        col, row = index % 4, index // 4
        rows.append({"type": "text", "key": f"f{index}", "label": f"項目{index + 1}",
                     "binding": bindings[index % len(bindings)], "x": 5 + col * 50, "y": 5 + row * 14,
                     "w": 45, "h": 10})
    return rows


def harness(count: int) -> str:
    data = {
        "fields": fields(count), "page": {"w": 210, "h": 297, "size": "A4", "orientation": "portrait"},
        "background": None, "catalogue": [{"binding": "person.name", "source": "本人", "label": "氏名",
                                            "kind": "text", "sample": "窓口 太郎"}],
        "types": ["text"], "bound": ["text"], "filters": ["wareki"],
        "urls": {"save": "/nowhere/save", "preview": "/nowhere/preview"},
    }
    template = (ROOT / "forms_builder" / "templates" / "forms_builder" / "editor.html").read_text(encoding="utf-8")
    body = template.split('<div id="fe-editor"', 1)[1].rsplit("{% endif %}", 1)[0]
    body = '<div id="fe-editor"' + body
    # Strip the Django tags: translations become their text, the rest goes.
    import re

    body = re.sub(r"\{% translate \"([^\"]*)\" %\}", r"\1", body)
    body = re.sub(r"\{% translate '([^']*)' %\}", r"\1", body)
    body = re.sub(r"\{%.*?%\}", "", body)
    body = re.sub(r"\{\{.*?\}\}", "", body)
    return f"""<!doctype html><html lang="ja"><head><meta charset="utf-8">
<link rel="stylesheet" href="{(ROOT / 'static' / 'css' / 'app.css').as_uri()}">
<link rel="stylesheet" href="{(STATIC / 'editor.css').as_uri()}">
<script src="{INTERACT.as_uri()}" defer></script><script src="{(STATIC / 'editor.js').as_uri()}" defer></script>
</head><body><main class="main">
<script id="fe-data" type="application/json">{json.dumps(data, ensure_ascii=False)}</script>
{body}</main></body></html>"""


PROBE = """() => {
  const s = window.__bench = {handler: [], frames: [], work: [], on: false, acc: 0};
  const sheet = document.getElementById('fe-page');
  window.addEventListener('pointermove', () => { s.t0 = performance.now(); }, true);
  window.addEventListener('pointermove', () => {
    if (s.on) { const d = performance.now() - s.t0; s.handler.push(d); s.acc += d; }
  }, false);
  let last = null;
  const loop = (ts) => {
    if (s.on) {
      if (last !== null) s.frames.push(ts - last);
      if (s.acc > 0) {  // this frame's style and layout, forced here instead of after the callback
        const t = performance.now();
        sheet.getBoundingClientRect();
        s.work.push(s.acc + performance.now() - t);
        s.acc = 0;
      }
      last = ts;
    } else { last = null; }
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (f"median {statistics.median(values):6.2f} ms  p95 {pct(values, 0.95):6.2f} ms  "
            f"max {max(values):6.2f} ms  (n={len(values)})")


def run(count: int, moves: int, runs: int) -> dict[str, dict[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="fe-bench-"))
    page_file = folder / "index.html"
    page_file.write_text(harness(count), encoding="utf-8")
    results: dict[str, dict[str, list[float]]] = {}
    checks: dict[str, list[float]] = {}
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--allow-file-access-from-files"])
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="ja-JP")
        page.goto(page_file.as_uri())
        page.wait_for_selector('#fe-editor[data-ready="1"]')
        assert page.locator("#fe-page .fe-box").count() == count
        page.evaluate(PROBE)

        def drag(scenario: str, grab: str) -> None:
            bucket = results.setdefault(scenario, {"handler": [], "frames": [], "work": []})
            for _ in range(runs):
                target = page.locator(grab).first
                target.scroll_into_view_if_needed()
                box = target.bounding_box()
                if scenario.startswith("resize"):
                    x, y = box["x"] + box["width"] - 2, box["y"] + box["height"] - 2
                else:
                    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
                page.mouse.move(x, y)
                page.mouse.down()
                page.evaluate("() => { const s = window.__bench; s.handler = []; s.frames = []; s.work = []; "
                              "s.acc = 0; s.on = true; }")
                for step in range(1, moves + 1):  # out and back: 60 px right and 45 px down, then back
                    phase = step / moves
                    k = phase * 2 if phase <= 0.5 else 2 - phase * 2
                    page.mouse.move(x + 60 * k, y + 45 * k)
                    if step == moves // 2:  # halfway: the field really follows the pointer (20 mm right at 3 px/mm)
                        moved = page.evaluate("() => { const e = window.madoguchiFormEditor; "
                                              "return [e.fields[41].x, e.fields[41].w, e.fields[0].x]; }")
                        checks.setdefault(scenario, moved)
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                got = page.evaluate("() => { const s = window.__bench; s.on = false; "
                                    "return {handler: s.handler, frames: s.frames, work: s.work}; }")
                page.mouse.up()
                for key in bucket:
                    bucket[key].extend(got[key])
                # out and back: the field ends where it started (nothing to undo)

        drag("drag one field", '#fe-page .fe-box[data-index="41"]')
        drag("resize one field", '#fe-page .fe-box[data-index="41"]')
        page.evaluate("() => { const e = window.madoguchiFormEditor; e.select(e.fields.map((f, i) => i)); }")
        drag("drag all 80 selected", '#fe-page .fe-box[data-index="41"]')
        browser.close()
    for scenario, (x41, w41, x0) in checks.items():
        print(f"  check, halfway through '{scenario}': field 42 x={x41} w={w41}, field 1 x={x0} "
              f"(before: 55, 45 and 5)")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fields", type=int, default=80)
    parser.add_argument("--moves", type=int, default=120)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"Layout editor drag, {args.fields} fields, {args.moves} pointer moves × {args.runs} runs, "
          f"{os.cpu_count()} cores, load {' '.join(load)}")
    results = run(args.fields, args.moves, args.runs)
    for scenario, values in results.items():
        print(f"\n{scenario}")
        print(f"  pointermove handler : {summary(values['handler'])}")
        print(f"  frame work          : {summary(values['work'])}")
        print(f"  rAF frame interval  : {summary(values['frames'])}")
    print(f"\nload after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Drives headless Chromium over the interactive views and checks what a person sees.

    PYTHONPATH=.venv/lab python3 scripts/browser/check_views.py EXPECT.json

EXPECT.json is written by tests/views.rs: the pages (built there) and the numbers
they must show (computed there, in Rust). For every page: it loads with no console
error, no uncaught exception and no network request (anything but the page's own
file is recorded as a failure); then, by kind,

- attention: pick the block and head, hover the last token: the lines left visible
  are exactly that token's row of the attention pattern (weights within one step of
  the page's 1/255 quantisation; weights under 0.4% may be left out, as the page
  does); leaving restores every line; clicking a cell of the model view selects that
  block and head and shows it enlarged;
- stepper: click a step, move the temperature slider with the keyboard: the table's
  tokens are Rust's top-k and their probabilities Rust's softmax(logits / T) over the
  whole vocabulary (within 1e-4), the chosen token marked;
- lens: hover a cell: the detail's top guess and probability are those of
  analysis::lens::logit_lens, and the final answer has rank 1 on the last row;
- embedding: typing in the search box marks the expected number of words; Enter
  zooms; hovering a point lists Rust's nearest word first; the wheel zooms.

Playwright (pinned in scripts/lab/requirements.txt, installed by `make setup-lab`)
launches Debian's /usr/bin/chromium; it downloads no browser. Prints one line per
check and `N passed, M failed`; exits 1 if any failed.
"""

import json
import math
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok    " if ok else "FAIL  ") + name + ("" if ok else ": " + detail), flush=True)
    return ok


def open_page(browser, entry):
    """A fresh page with console, error and request recorders, loaded and ready."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    rec = {"console": [], "errors": [], "requests": []}
    url = Path(entry["path"]).resolve().as_uri()
    page.on("console", lambda m: rec["console"].append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: rec["errors"].append(str(e)))

    def on_request(r):
        if r.url != url:
            rec["requests"].append(r.url)

    page.on("request", on_request)
    page.goto(url)
    page.wait_for_selector('.gx-view[data-ready]', timeout=15000)
    ready = page.get_attribute(".gx-view", "data-ready")
    check(f"{entry['name']}: the view builds", ready == "1", f"data-ready={ready}: {page.inner_text('.gx-view')[:300]}")
    return page, rec


def close_page(entry, page, rec):
    page.wait_for_timeout(200)
    check(f"{entry['name']}: no console error or warning", not rec["console"], "; ".join(rec["console"][:5]))
    check(f"{entry['name']}: no uncaught exception", not rec["errors"], "; ".join(rec["errors"][:5]))
    check(f"{entry['name']}: no network request", not rec["requests"], ", ".join(rec["requests"][:5]))
    page.close()


def visible_lines(page):
    return page.eval_on_selector_all(
        "svg.gx-lines line",
        "ls => ls.filter(l => l.style.display !== 'none').map(l => [+l.dataset.q, +l.dataset.k, +l.dataset.head, +l.dataset.w])",
    )


def attention(page, e):
    name = e["name"]
    page.select_option("select.gx-block", str(e["block"]))
    page.click("text=no heads")
    page.check(f'input.gx-head[data-head="{e["head"]}"]')
    q, row = e["query"], e["row"]
    every = len(visible_lines(page))
    page.hover(f'svg.gx-lines text.gx-q[data-pos="{q}"]')
    lines = visible_lines(page)
    bad = [l for l in lines if l[0] != q or l[2] != e["head"]]
    check(f"{name}: hovering token {q} leaves only its lines", not bad and 0 < len(lines) < every or every == len(lines) == len(row),
          f"{len(lines)} visible of {every}, stray: {bad[:3]}")
    shown = {l[1]: l[3] for l in lines}
    problems = []
    for j, w in enumerate(row):
        if j in shown:
            if abs(shown[j] - w) > 1 / 255 + 1e-4:
                problems.append(f"key {j}: line weight {shown[j]} vs pattern {w:.5f}")
        elif w >= 0.006:
            problems.append(f"key {j}: no line for weight {w:.5f}")
    check(f"{name}: the hovered token's lines equal its row of the pattern (block {e['block']}, head {e['head']})",
          not problems, "; ".join(problems[:5]))
    page.mouse.move(5, 5)
    check(f"{name}: leaving the token shows every line again", len(visible_lines(page)) == every)
    c = e["click"]
    page.click(f'canvas.gx-cell[data-block="{c["block"]}"][data-head="{c["head"]}"]')
    sel = page.input_value("select.gx-block")
    heads = page.eval_on_selector_all("input.gx-head", "bs => bs.filter(b => b.checked).map(b => +b.dataset.head)")
    big = page.query_selector(f'canvas.gx-enlarged[data-block="{c["block"]}"][data-head="{c["head"]}"]')
    check(f"{name}: clicking block {c['block']} head {c['head']} in the model view selects and enlarges it",
          sel == str(c["block"]) and heads == [c["head"]] and big is not None, f"block {sel}, heads {heads}, enlarged {big}")


def stepper(page, e):
    name = e["name"]
    slider = page.locator("input.gx-temp")
    for c in e["checks"]:
        run = page.locator(".gx-run").nth(c["run"])
        run.locator(f'.gx-step[data-step="{c["step"]}"]').click()
        slider.focus()
        page.keyboard.press("Home")
        for _ in range(c["slider"]):
            page.keyboard.press("ArrowRight")
        shown = page.inner_text(".gx-tval")
        rows = run.locator("table.gx-topk tr.gx-row").evaluate_all(
            "rs => rs.map(r => [r.dataset.token, +r.dataset.p, r.classList.contains('gx-chosen')])")
        what = f"{name}: seed #{c['run']} step {c['step'] + 1} at T = {c['temperature']}"
        problems = []
        if f"{c['temperature']:.2f}" not in shown:
            problems.append(f"slider shows {shown!r}")
        for k, want in enumerate(c["rows"]):
            if k >= len(rows):
                problems.append(f"row {k + 1} missing")
                break
            tok, p, _ = rows[k]
            if tok != want["token"] or not math.isclose(p, want["p"], rel_tol=1e-4, abs_tol=1e-6):
                problems.append(f"row {k + 1}: page {tok!r} {p:.6g}, Rust {want['token']!r} {want['p']:.6g}")
        chosen = [r[0] for r in rows if r[2]]
        if chosen != [c["chosen"]]:
            problems.append(f"chosen marked {chosen}, expected {c['chosen']!r}")
        check(what + ": probabilities equal Rust's softmax(logits / T)", not problems, "; ".join(problems[:4]))


def lens(page, e):
    name = e["name"]
    for c in e["checks"]:
        page.hover(f'td.gx-cell[data-row="{c["row"]}"][data-pos="{c["pos"]}"]')
        rows = page.eval_on_selector_all(".gx-detail tr.gx-row", "rs => rs.map(r => [r.dataset.token, +r.dataset.p])")
        rank = page.get_attribute(".gx-detail .gx-rank", "data-rank")
        problems = []
        if not rows or rows[0][0] != c["token"] or not math.isclose(rows[0][1], c["p"], rel_tol=1e-4, abs_tol=1e-7):
            problems.append(f"top guess {rows[:1]}, expected {c['token']!r} {c['p']:.6g}")
        if any(rows[k][1] < rows[k + 1][1] for k in range(len(rows) - 1)):
            problems.append("guesses not in order")
        if c.get("rank") is not None and rank != str(c["rank"]):
            problems.append(f"final answer rank {rank}, expected {c['rank']}")
        check(f"{name}: hovering row {c['row']} position {c['pos']} shows its top guess", not problems, "; ".join(problems))


def viewbox_width(page):
    return float(page.get_attribute("svg.gx-map", "viewBox").split()[2])


def embedding(page, e):
    name = e["name"]
    page.fill("input.gx-search", e["search"])
    hits = page.eval_on_selector_all("g.gx-pt.gx-hit", "gs => gs.length")
    check(f"{name}: searching {e['search']!r} marks {e['matches']} words", hits == e["matches"], f"{hits} marked")
    page.fill("input.gx-search", e["hover"])
    page.press("input.gx-search", "Enter")
    w = viewbox_width(page)
    check(f"{name}: Enter zooms to the match", w < 900, f"viewBox width {w}")
    page.hover(f'g.gx-pt[data-word="{e["hover"]}"] circle')
    first = page.get_attribute(".gx-detail ol.gx-near li", "data-word")
    check(f"{name}: hovering {e['hover']!r} lists {e['nearest']!r} nearest", first == e["nearest"], f"first listed: {first!r}")
    page.click("button.gx-reset")
    box = page.locator("svg.gx-map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_timeout(100)
    w = viewbox_width(page)
    check(f"{name}: the mouse wheel zooms in", w < 900, f"viewBox width {w}")


def main():
    spec = json.loads(Path(sys.argv[1]).read_text())
    kinds = {"attention": attention, "stepper": stepper, "lens": lens, "embedding": embedding}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for entry in spec["pages"]:
            try:
                page, rec = open_page(browser, entry)
                kinds[entry["kind"]](page, entry)
                close_page(entry, page, rec)
            except Exception as ex:  # a timeout or a missing element: this page fails, the rest run
                check(f"{entry['name']}: runs to the end", False, f"{type(ex).__name__}: {str(ex)[:400]}")
        browser.close()
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

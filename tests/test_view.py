"""`patchwright view` and `patchwright report`: pages rendered from real runs (the offline demo, an
oracle batch over the built-in suite with --eval, `eval` outputs, a run killed mid-way and the same
run caught mid-write, a 500-step synthetic trajectory) and opened in headless Chromium: no console
error, no request leaving the page's own file, the key elements shown, the script's search, filters
and folds working, the content readable with JavaScript off. A screenshot of each page is saved under
build/screenshots/ (tests/browser.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from browser import Browser, need_browser
from conftest import run_cli
from view_synthetic import write_run

BUILTIN = 12


# -- runs to look at (each made once per module) -------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    b = Browser(*need_browser())
    yield b
    b.close()


@pytest.fixture(scope="module")
def oracle_batch(base_image, tmp_path_factory) -> Path:
    """`run --dataset builtin --model oracle --eval`, which writes the report and says where."""
    out = tmp_path_factory.mktemp("oracle") / "out"
    res = run_cli("run", "--dataset", "builtin", "--model", "oracle", "--workers", "2", "--eval", "--out", str(out),
                  timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.splitlines()[-1] == f"report: {out.resolve() / 'report.html'}"
    return out


@pytest.fixture(scope="module")
def demo_run(base_image, tmp_path_factory) -> Path:
    """The run directory of `patchwright demo --keep` (moved here)."""
    res = run_cli("demo", "--keep")
    assert res.returncode == 0, res.stderr[-3000:]
    kept = next(line for line in res.stdout.splitlines() if line.startswith("kept:"))
    run_dir = Path(kept.split("the run directory ")[1].strip())
    dest = tmp_path_factory.mktemp("demo") / "run"
    shutil.copytree(run_dir, dest)
    shutil.rmtree(run_dir.parent)
    return dest


@pytest.fixture(scope="module")
def crashed_run(tmp_path_factory) -> Path:
    """`patchwright fix` on the demo's sample (local workspace, the real OpenAI client against the stub
    server) killed with SIGKILL while it waits for its fourth model turn."""
    from patchwright.commands.demo import SAMPLE, make_sample_repo
    from stub_llm import StubLLM

    tmp = tmp_path_factory.mktemp("crash")
    repo = make_sample_repo(tmp / "shop")
    run_dir = tmp / "run"
    (tmp / "t").mkdir()
    with StubLLM() as stub:
        stub.reply("The bug is in the pricing module.", calls=[("select_files", {"paths": ["shop/pricing.py"]})])
        stub.reply(calls=[("select_definitions", {"names": ["shop/pricing.py:LineItem.subtotal"]})])
        stub.reply("Let me read it first.", calls=[("view_symbol", {"name": "shop/pricing.py:LineItem.subtotal"})])
        reached, release = threading.Event(), threading.Event()

        def block(request):
            reached.set()
            release.wait(120)
            return None

        stub.handler = block
        cmd = [sys.executable, "-m", "patchwright", "fix", str(repo), "--issue-file", str(SAMPLE / "ISSUE.md"),
               "--model", f"openai:gpt-4o@{stub.openai_url}", "--workspace", "local", "--out", str(run_dir)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "TMPDIR": str(tmp / "t")})
        try:
            assert reached.wait(300), "the run never asked for its fourth turn"
            time.sleep(0.3)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
    assert not (run_dir / "summary.json").exists()
    return run_dir


def lines_of(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def view(run_dir: Path, *extra: str) -> Path:
    res = run_cli("view", str(run_dir), *extra)
    assert res.returncode == 0, res.stderr
    page = Path(res.stdout.strip())
    assert page.is_file()
    return page


def check_page(b: Browser, page: Path, shot: str) -> None:
    """Open `page`: nothing but the file itself is requested, the console says no error, the header
    and the sections are shown; save its screenshot."""
    b.open(page)
    assert b.console_errors() == []
    assert b.requested() == [page.resolve().as_uri()]
    assert b.shown("h1")
    assert b.screenshot(shot).stat().st_size > 10_000


def text(b: Browser, selector: str) -> str:
    """The text of the first element matching `selector` (textContent: steps off screen are not laid out)."""
    return b.js("var e = document.querySelector(arguments[0]); return e ? e.textContent : null;", selector)


def count(b: Browser, selector: str) -> int:
    return b.js("return document.querySelectorAll(arguments[0]).length;", selector)


def search(b: Browser, query: str) -> str:
    """Type into the steps' search box; returns the count line once the debounced filter ran."""
    b.js("var q = document.getElementById('q'); q.value = arguments[0]; q.dispatchEvent(new Event('input'));", query)
    time.sleep(0.4)
    return text(b, "#count")


# -- pages in the browser ---------------------------------------------------------------------------------
@pytest.mark.docker
def test_the_demo_run_as_a_page(demo_run, browser):
    page = view(demo_run)
    assert page == demo_run.resolve() / "view.html"
    check_page(browser, page, "view-demo")
    b = browser
    assert "verified" in text(b, "h1") and "replayed from a cassette" in text(b, ".banner")
    assert "+        return round_cents(gross * (1 - self.discount_percent / 100))" in text(b, "#final-patch")
    marks = [e.text for e in b.shown("#final-tests td.mark")]
    assert marks == ["fixed"] * 3
    steps = lines_of(demo_run / "trajectory.jsonl")
    assert count(b, "#steps article.step") == steps and len(b.shown("#steps article.step")) >= 3
    # the localization: retrieval's files with their signals, the model's choice ticked
    chosen = b.shown("#localization tr.chosen td.t")
    assert [e.text for e in chosen] == ["shop/pricing.py", "shop/pricing.py:LineItem.subtotal"]
    assert b.shown("#localization .sig")
    # the edit that changed the patch shows its diff; the test run its table
    assert "the patch of shop/pricing.py after this step" in text(b, "#steps")
    assert b.shown("svg.timeline") and count(b, "svg.timeline g.row") == 3
    # the script: the controls appear and the search narrows the steps
    assert b.shown("#q")
    assert search(b, "replace_symbol") != f"{steps} of {steps} steps"
    shown = b.shown("#steps article.step")
    assert shown and all("replace_symbol" in e.text for e in shown)
    assert search(b, "") == f"{steps} of {steps} steps"


@pytest.mark.docker
def test_the_oracle_batch_report_links_every_instance_page(oracle_batch, browser):
    b = browser
    report = oracle_batch / "report.html"
    check_page(b, report, "report-oracle")
    assert "12 / 12" in text(b, "#headline") and "graded by the harness" in text(b, "#headline")
    assert "oracle replays" in text(b, ".banner")
    assert count(b, "#repos tbody tr") == 4 and len(b.shown("svg.hist")) == 3
    assert len(b.shown("#extremes table")) == 2
    links = b.js("return Array.from(document.querySelectorAll('#instances a')).map(a => a.getAttribute('href'));")
    assert len(links) == BUILTIN and all((oracle_batch / link).is_file() for link in links)
    # the sort (by time, one way then the other) and the filter
    times = "return Array.from(document.querySelectorAll('#instance-rows tr')).map(r => +r.cells[7].dataset.v);"
    header = b.shown("#instances th")[7]
    assert header.text.startswith("time")
    header.click()
    assert b.js(times) == sorted(b.js(times))
    header.click()
    assert b.js(times) == sorted(b.js(times), reverse=True)
    b.js("var q = document.getElementById('iq'); q.value = 'kvconf'; q.dispatchEvent(new Event('input'));")
    assert text(b, "#icount") == f"3 of {BUILTIN} instances"
    # an instance's page, reached by its link
    link = b.shown("#instances a")[0]
    first = link.text
    assert first.startswith("builtin__kvconf-")
    link.click()
    assert b.console_errors() == []
    assert text(b, "h1").startswith(first)
    assert "resolved" in text(b, "#evaluation") and b.shown("#localization .sig")
    assert count(b, "#steps article.step") == lines_of(oracle_batch / first / "trajectory.jsonl")
    assert b.screenshot("view-oracle-instance").stat().st_size > 10_000


@pytest.mark.docker
def test_eval_prints_its_report_and_compare_shows_the_flips(oracle_batch, browser, tmp_path):
    empty = tmp_path / "empty"
    res = run_cli("eval", "--dataset", "builtin", "--predictions", "empty", "--report", str(empty))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[-1] == f"report: {empty.resolve() / 'report.html'}"
    check_page(browser, empty / "report.html", "report-eval-empty")
    assert f"0 / {BUILTIN}" in text(browser, "#headline")
    assert "empty_patch" in text(browser, "#statuses")

    res = run_cli("report", str(oracle_batch), "--compare", str(empty), "-o", str(tmp_path / "compare.html"))
    assert res.returncode == 0, res.stderr
    check_page(browser, tmp_path / "compare.html", "report-compare")
    rows = browser.shown("#flips tbody tr")
    assert len(rows) == BUILTIN and all("resolved only here" in r.text and "empty_patch" in r.text for r in rows)
    assert f"{BUILTIN} resolved only here" in text(browser, "#compare")
    # the links lead to both batches' instance pages, relative to the report's place
    hrefs = browser.js("return Array.from(document.querySelectorAll('#flips a')).map(a => a.href);")
    assert any("/empty/" in h for h in hrefs) and any("/out/" in h for h in hrefs)


def test_a_killed_run_and_one_caught_mid_write(crashed_run, browser, tmp_path):
    steps = lines_of(crashed_run / "trajectory.jsonl")
    assert steps == 4  # index, localize (files), localize (definitions), the first edit
    page = view(crashed_run)
    check_page(browser, page, "view-crashed")
    b = browser
    assert "unfinished" in text(b, "h1") and "killed or crashed" in text(b, "header")
    assert count(b, "#steps article.step") == steps
    missing = [e.text for e in b.shown("#files tr") if "missing" in e.text]
    assert any(m.startswith("summary.json") for m in missing) and any(m.startswith("patch.diff") for m in missing)
    assert "tokens" in text(b, "#step-3") and "$" in text(b, "#step-3")  # the stub's usage, priced as gpt-4o
    assert "view_symbol" in text(b, "#step-3")

    caught = tmp_path / "caught"
    shutil.copytree(crashed_run, caught)
    with (caught / "trajectory.jsonl").open("a") as f:
        f.write('{"step": 4, "node": "edit", "time": "2026-')  # the writer is mid-line
    check_page(b, view(caught), "view-mid-write")
    assert "incomplete" in text(b, "#notes") and count(b, "#steps article.step") == steps


def test_a_long_run(browser, tmp_path):
    run_dir = write_run(tmp_path / "long", 500)
    page = view(run_dir, "-o", str(tmp_path / "long.html"))
    check_page(browser, page, "view-500-steps")
    b = browser
    assert count(b, "#steps article.step") == 500
    assert "a step kind this viewer does not know" in text(b, "#step-3")  # an unknown kind, shown generically
    assert "new failure" in text(b, "#final-tests") and "fixed" in text(b, "#final-tests")
    rows = [json.loads(line) for line in (run_dir / "trajectory.jsonl").read_text().splitlines()]
    calling = sum(1 for r in rows if any(c["name"] == "view_symbol" for c in (r["response"] or {}).get("tool_calls", [])))
    assert calling > 10 and search(b, "view_symbol") == f"{calling} of 500 steps"
    search(b, "")
    b.js("var c = document.getElementById('only-bad'); c.checked = true; c.dispatchEvent(new Event('change'));")
    problems = count(b, 'article.step[data-bad="1"]')
    assert 0 < problems < 500 and text(b, "#count").startswith(f"{problems} of 500")
    b.js("var c = document.getElementById('only-bad'); c.checked = false; c.dispatchEvent(new Event('change'));")
    b.js("document.getElementById('unfold').click();")
    assert b.js("return document.querySelectorAll('#steps details:not([open])').length;") == 0
    b.js("document.getElementById('fold').click();")
    assert b.js("return document.querySelectorAll('#steps details[open]').length;") == 0
    # a click on the timeline goes to the step under the pointer
    b.js("var s = document.querySelector('svg.timeline'), r = s.getBoundingClientRect();"
         "s.dispatchEvent(new MouseEvent('click', {clientX: r.left + r.width * 0.5 + 0.5, clientY: r.top + 10,"
         " bubbles: true}));")
    assert b.js("return location.hash;") == "#step-250"
    assert b.console_errors() == []


def test_pages_read_without_javascript(browser, tmp_path):
    run_dir = write_run(tmp_path / "run", 60)
    page = view(run_dir)
    browser.open(page, javascript=False)
    try:
        b = browser
        assert b.console_errors() == []
        assert not b.shown("#q") and not b.shown(".controls")  # the script's controls stay hidden
        assert len(b.shown("#steps article.step")) >= 5 and b.shown("#final-patch") and b.shown("svg.timeline")
        assert b.shown("#steps details > summary")  # folds are <details>: they open without the script
        assert not b.shown("#steps details:not([open]) pre")
        assert not b.shown("#final-tests details td")
        b.shown("#final-tests details > summary")[0].click()
        assert b.shown("#final-tests details[open] td")
        assert b.screenshot("view-without-javascript").stat().st_size > 10_000
    finally:
        browser.open(page)  # scripts on again for the tests that follow


# -- without a browser --------------------------------------------------------------------------------------
def test_lines_the_page_cannot_read_are_noted_and_skipped(tmp_path):
    from patchwright.view import render_run

    run_dir = write_run(tmp_path / "run", 12)
    lines = (run_dir / "trajectory.jsonl").read_text().splitlines(keepends=True)
    lines.insert(5, "not json\n")
    lines.insert(6, "[1, 2]\n")
    (run_dir / "trajectory.jsonl").write_text("".join(lines) + '{"step": 12, "no')
    (run_dir / "summary.json").write_text("{broken")
    html = render_run(run_dir)
    assert "line 6 of trajectory.jsonl is not valid JSON" in html
    assert "line 7 of trajectory.jsonl is not a JSON object" in html
    assert "the last line of trajectory.jsonl is incomplete" in html
    assert "summary.json is not valid JSON" in html
    assert html.count('<article class="step') == 12


def test_steps_of_unexpected_shapes_still_render(tmp_path):
    from patchwright.view import render_run

    rows = [
        {"step": 0, "node": "edit", "response": "not a dict", "observations": {"x": 1}, "data": []},
        {"step": 1, "node": "edit", "response": {"text": "hi", "tool_calls": [{"name": "bash", "arguments": "ls"}]},
         "observations": [{"tool_call_id": None, "output": 42}], "usage": {"input_tokens": "many"}},
        {"node": "test", "data": {"failing": "all of them", "statuses": {"t1": "PASSED"}, "counts": [1]}},
        {"step": 3, "data": {"nested": {"deep": [1, {"x": None}]}, "long": "y" * 50_000}},
        {"step": 4, "node": "localize", "data": {"ranking": {"files": [{"path": 3, "signals": "no"}], "functions": 7}}},
    ]
    (tmp_path / "trajectory.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    html = render_run(tmp_path)
    assert html.count('<article class="step') == 5
    assert "characters not shown here" in html and "(unknown)" in html and "all of them" not in html.split("<main>")[0]


def test_view_and_report_errors_are_one_line(tmp_path):
    run_dir = write_run(tmp_path / "run", 10)
    blocker = tmp_path / "file"
    blocker.write_text("")
    cases = [
        (["view", str(tmp_path / "missing")], "no such directory"),
        (["view", str(tmp_path)], "holds no patchwright run"),
        (["report", str(run_dir)], "holds one run, not a batch"),
        (["report", str(tmp_path)], "holds neither"),
        (["view", str(run_dir), "-o", str(blocker / "page.html")], "cannot write"),
    ]
    for args, message in cases:
        res = run_cli(*args)
        assert res.returncode == 2, (args, res.stderr)
        assert res.stderr.count("\n") == 1 and message in res.stderr and "Traceback" not in res.stderr, (args, res.stderr)


def test_open_hands_the_page_to_the_browser(tmp_path):
    run_dir = write_run(tmp_path / "run", 10)
    opener = tmp_path / "opener.sh"
    opener.write_text(f'#!/bin/sh\necho "$1" > {tmp_path / "opened"}\n')
    opener.chmod(opener.stat().st_mode | stat.S_IEXEC)
    res = run_cli("view", str(run_dir), "--open", env={"BROWSER": str(opener)})
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "opened").read_text().strip() == (run_dir.resolve() / "view.html").as_uri()

"""A long synthetic run directory for the viewer's tests and bench/viewer.py: `steps` trajectory lines
written by the real TrajectoryWriter (model turns, tool calls and their answers, edits that change the
patch, test runs, reviews, an unknown step kind), with run.json, summary.json and patch.diff written
by the agent's own models. The sizes are those of a real run: answers of a few kilobytes, code in the
edit calls, usage and cost on every model call."""

from __future__ import annotations

from pathlib import Path

from agent.fix import PATCH, RUN_FILE, TRAJECTORY, FixOutcome, FixRequest, write_summary
from agent.localization import SELECT_DEFINITIONS, SELECT_FILES
from agent.models import Message, ModelTurn, ToolCall, Usage
from agent.trajectory import Observation, TrajectoryWriter
from tools.toolset import TOOLS

ISSUE = "Discounts are applied twice when an order has several lines.\n\nSteps: create an order with two lines..."
FILE = "shop/pricing.py"


def _source(k: int) -> str:
    return (f"def subtotal_{k}(self) -> float:\n    \"\"\"The price of the line after its discount.\"\"\"\n"
            f"    gross = self.unit_price * self.quantity\n    discount = gross * self.discount_percent / 100\n"
            f"    return round_cents(gross - discount)  # step {k}\n")


def _patch(k: int) -> str:
    lines = "".join(f"+    value_{j} = compute({j})  # revision {k}\n" for j in range(4 + k % 5))
    return (f"diff --git a/{FILE} b/{FILE}\nindex 9be1aec..fe439a1 100644\n--- a/{FILE}\n+++ b/{FILE}\n"
            f"@@ -17,7 +17,{10 + k % 5} @@ class LineItem:\n     def subtotal(self) -> float:\n"
            f"-        return round_cents(gross * self.discount_percent / 100)\n{lines}"
            "         return value\n")


def _file_view(k: int, lines: int = 70) -> str:
    body = "\n".join(f"{n:>5}     total = total + line.amount * rate_{n}  # pricing rule {n} of step {k}"
                     for n in range(1, lines + 1))
    return f"{FILE}: lines 1-{lines} of 240\n{body}\n"


def _turn(k: int, text: str, calls: list[ToolCall]) -> ModelTurn:
    return ModelTurn(text, calls, Usage(6000 + 40 * k, 150 + k % 90, 5000, 0), cost=0.0009 + 0.00001 * k,
                     model="gpt-4o", stop_reason="tool_calls" if calls else "stop", duration=0.8 + (k % 7) / 10)


def _edit(writer: TrajectoryWriter, k: int, messages: list[Message]) -> None:
    kind = k % 6
    text = (f"Step {k}: the discount is subtracted in subtotal and again in Order.total; "
            "I look at the code that applies it, then change the one place that should.") * 2
    if kind == 0:
        call = ToolCall(f"c{k}", "view_file", {"path": FILE})
        output, data = _file_view(k), {}
    elif kind == 1:
        call = ToolCall(f"c{k}", "search", {"pattern": "discount_percent", "path": "shop"})
        output, data = "".join(f"shop/pricing.py:{n}: self.discount_percent / 100\n" for n in range(20)), {}
    elif kind == 2:
        call = ToolCall(f"c{k}", "replace_symbol", {"name": f"{FILE}:LineItem.subtotal", "new_source": _source(k)})
        output, data = f"Replaced {FILE}:LineItem.subtotal (was lines 17-20, now 17-22).\n" + _file_view(k, 12), \
            {"patch": _patch(k)}
    elif kind == 3:
        call = ToolCall(f"c{k}", "str_replace", {"path": FILE, "old": "gross * self.discount_percent / 100\n",
                                                 "new": f"gross * (1 - self.discount_percent / 100)  # {k}\n"})
        output, data = f"Edited {FILE} (lines 19-19).\n" + _file_view(k, 10), {"patch": _patch(k + 1)}
    elif kind == 4:
        call = ToolCall(f"c{k}", "run_tests", {})
        output = ("Ran `python -m unittest -v`:\n3 passed, 2 failed.\nFailing:\n  tests.test_pricing.PricingTest."
                  "test_discount\n  tests.test_pricing.PricingTest.test_total\n" + "Traceback line\n" * 25)
        data = {}
    else:
        call = ToolCall(f"c{k}", "view_symbol", {"name": f"{FILE}:Order.nope"})
        output, data = f"error: no definition named Order.nope in {FILE}; try find_symbol", {}
    obs = Observation(tool_call_id=call.id, name=call.name, output=output, is_error=kind == 5)
    writer.write("edit", messages=messages, tools=TOOLS.specs(), turn=_turn(k, text, [call]), observations=[obs],
                 duration=1.0 + (k % 5) / 10, timings={"model": 0.9, "tools": 0.1, "diff": 0.01},
                 diff_lines=12, **data)


def write_run(run_dir: Path, steps: int) -> Path:
    """A new run directory with `steps` trajectory lines (at least 8)."""
    run_dir.mkdir(parents=True)
    request = FixRequest(repo="/src/shop", issue=ISSUE, model="openai:gpt-4o", workspace="local")
    (run_dir / RUN_FILE).write_text(request.model_dump_json(indent=2) + "\n")
    before = {f"tests.test_pricing.PricingTest.test_{n}": "FAILED" if n < 2 else "PASSED" for n in range(6)}
    after = {**before, "tests.test_pricing.PricingTest.test_0": "PASSED", "tests.test_pricing.PricingTest.test_5": "FAILED"}
    messages = [Message.system("You fix issues."), Message.user(ISSUE), Message.user("x" * 3000)]
    ranking = {"files": [{"path": f"shop/m{n}.py", "score": 1 - n / 10, "signals": {"bm25": 1 - n / 10, "trace": 0.5}}
                         for n in range(10)],
               "functions": [{"path": "shop/m0.py", "name": f"f{n}", "score": 2 - n / 10, "lines": [n, n + 9],
                              "signals": {"bm25": 0.3, "name": 1.0}} for n in range(12)]}
    clock = iter(range(0, 10**7, 13))  # 1.3 s a step, so that the page's times read like a real run's
    with TrajectoryWriter(run_dir / TRAJECTORY, clock=lambda: next(clock) / 10) as w:
        w.write("index", duration=1.2, files=42, indexed=40, test_command="python -m unittest -v",
                tests_before={"PASSED": 4, "FAILED": 2}, test_duration=0.9, timed_out=False)
        w.write("localize", messages=messages, tools=[SELECT_FILES], duration=1.1, stage="files",
                turn=_turn(0, "The pricing module.", [ToolCall("l1", "select_files", {"paths": ["shop/m0.py"]})]),
                candidates=[f["path"] for f in ranking["files"]], chosen=["shop/m0.py"], ranking=ranking)
        w.write("localize", messages=messages, tools=[SELECT_DEFINITIONS], duration=0.9, stage="definitions",
                turn=_turn(1, "", [ToolCall("l2", "select_definitions", {"names": ["shop/m0.py:f0"]})]),
                chosen=["shop/m0.py:f0"])
        w.write("critique", note="a step kind this viewer does not know", score=0.5)
        k = 4
        while k < steps - 3:
            if k % 40 == 39:
                w.write("test", duration=2.0, targets=["tests/test_pricing.py"], command="python -m unittest -v",
                        counts={"PASSED": 4, "FAILED": 2}, failing=["tests.test_pricing.PricingTest.test_1",
                                                                    "tests.test_pricing.PricingTest.test_5"],
                        timed_out=False)
            elif k % 40 == 0:
                w.write("review", verdict="edit", changed=[FILE], failing=["tests.test_pricing.PricingTest.test_5"])
            else:
                _edit(w, k, messages)
            k += 1
        w.write("test", duration=2.0, targets=None, command="python -m unittest -v", counts={"PASSED": 5, "FAILED": 1},
                failing=["tests.test_pricing.PricingTest.test_5"], timed_out=False)
        w.write("review", verdict="submit", changed=[FILE], failing=["tests.test_pricing.PricingTest.test_5"])
        w.write("submit", duration=3.0, status="submitted", message="", files_changed=[FILE],
                evidence={"tests_ran": True, "fixed": ["tests.test_pricing.PricingTest.test_0"],
                          "broken": ["tests.test_pricing.PricingTest.test_5"], "failing": ["x"], "repro": None,
                          "changed_lines": 9, "empty": False})
    patch = _patch(steps)
    (run_dir / PATCH).write_text(patch)
    write_summary(run_dir, FixOutcome(status="submitted", patch=patch, files_changed=[FILE], tests_before=before,
                                      tests_after=after, steps=steps - 4, tokens=7_000 * steps, cost=0.001 * steps,
                                      model=request.model, attempt=1, run_dir=str(run_dir), elapsed=1.5 * steps))
    return run_dir

"""`oracle`: a stand-in model that replays an instance's gold patch through the real tools.

It is not a model. It exists to prove the whole pipeline (batch runner, graph, tools, workspace,
harness) without a paid model, and says so wherever it appears: its spec is `oracle`, every turn
it plays starts with `[oracle]`, and its name in trajectories and predictions is `LABEL`.

Given the gold patch and a way to read the workspace's files, it answers the graph like a model:

    localization    select_files(the files the patch changes), select_definitions(the functions it replaces)
    edit turn 1     view_file of each file the patch changes
    edit turns 2..  the calls swebench_runner.derive derives from the patch (replace_symbol, insert_symbol,
                    delete_symbol, str_replace, create_file), one per turn
    then            run_tests, then a turn without tool calls (done)

It decides from the conversation it is shown (how many assistant turns it holds), so several
attempts and resumed runs replay correctly; the derivation is made once, from the files as they
are before the first edit. A patch that cannot be derived (binary, quoted names) is applied with
one `bash` call to `git apply`, and the turn says so.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.models.base import ModelClient, ModelOptions
from agent.models.prices import PriceTable
from agent.models.registry import register_provider
from agent.models.types import Message, ModelTurn, ToolCall
from sandbox.errors import UserError
from swebench_runner.derive import DeriveError, derive_tool_calls, parse_patch, patch_paths
from tools.registry import ToolSpec

LABEL = "patchwright-oracle (gold-patch replay)"
"""How the oracle is named in trajectories, summaries and predictions (`model_name_or_path`)."""
NOTE = "[oracle] "
"""Every turn's text starts with this: the turn replays the gold patch, no model wrote it."""

ReadFiles = Callable[[list[str]], dict[str, bytes]]


class OracleModel(ModelClient):
    provider = "oracle"

    def __init__(self, gold_patch: str, read_files: ReadFiles, options: ModelOptions | None = None,
                 prices: PriceTable | None = None):
        super().__init__("patchwright-oracle", options, prices if prices is not None else PriceTable({}))
        self.gold_patch = gold_patch
        self.read_files = read_files
        self._script: list[tuple[str, list[dict]]] | None = None

    @property
    def spec(self) -> str:
        return "oracle"

    # -- what to say -----------------------------------------------------------------------------
    def _edits(self) -> list[tuple[str, list[dict]]]:
        """The edit loop's turns after viewing: one per derived call (made once, from the files
        before any edit), then run_tests."""
        if self._script is None:
            paths = patch_paths(self.gold_patch)
            try:
                calls = derive_tool_calls(self.read_files(paths), self.gold_patch)
                turns = [(f"{NOTE}gold patch, step {k} of {len(calls)}: {c['name']}"
                          + (f" ({c['note']})" if c.get("note") else ""),
                          [{"name": c["name"], "arguments": c["arguments"]}]) for k, c in enumerate(calls, 1)]
            except DeriveError as exc:
                text = self.gold_patch if self.gold_patch.endswith("\n") else self.gold_patch + "\n"
                command = f"git apply <<'PATCHWRIGHT_ORACLE_PATCH'\n{text}PATCHWRIGHT_ORACLE_PATCH"
                turns = [(f"{NOTE}the gold patch cannot be derived into edit calls ({exc}); applying it with git",
                          [{"name": "bash", "arguments": {"command": command}}])]
            turns.append((f"{NOTE}running the tests on the gold patch", [{"name": "run_tests", "arguments": {}}]))
            self._script = turns
        return self._script

    def _view(self) -> tuple[str, list[dict]]:
        paths = patch_paths(self.gold_patch)
        if not paths:  # the patch only creates files
            return f"{NOTE}looking at the repository", [{"name": "list_dir", "arguments": {}}]
        return (f"{NOTE}viewing the files the gold patch changes",
                [{"name": "view_file", "arguments": {"path": p}} for p in paths])

    def _definitions(self) -> list[str]:
        names = []
        for _text, calls in self._edits():
            for c in calls:
                if c["name"] in ("replace_symbol", "delete_symbol") and c["arguments"]["name"] not in names:
                    names.append(c["arguments"]["name"])
        return names

    def _turn(self, messages: list[Message], offered: set[str]) -> tuple[str, list[dict]]:
        if "select_files" in offered:
            files = sorted({fp.new_path or fp.old_path for fp in parse_patch(self.gold_patch)})
            return f"{NOTE}the files the gold patch changes", [{"name": "select_files", "arguments": {"paths": files}}]
        if "select_definitions" in offered:
            return (f"{NOTE}the definitions the gold patch replaces",
                    [{"name": "select_definitions", "arguments": {"names": self._definitions()}}])
        done = sum(1 for m in messages if m.role == "assistant")
        script = [self._view(), *self._edits()]
        if done < len(script):
            return script[done]
        return f"{NOTE}done: the gold patch is applied and tested.", []

    def _complete(self, messages: list[Message], tools: list[ToolSpec]) -> ModelTurn:
        text, calls = self._turn(messages, {t.name for t in tools})
        n = sum(1 for m in messages if m.role == "assistant")
        tool_calls = [ToolCall(f"oracle-{n}-{i}", c["name"], dict(c["arguments"])) for i, c in enumerate(calls)]
        return ModelTurn(text=text, tool_calls=tool_calls, cost=0.0, model=LABEL,
                         stop_reason="tool_use" if tool_calls else "end_turn")


def make_oracle(target: str, *, gold_patch: str | None = None, read_files: ReadFiles | None = None,
                prices: PriceTable | None = None, **options) -> OracleModel:
    """The `oracle` provider: needs the instance's gold patch and a reader of the workspace's files
    (batch runs pass both)."""
    if target:
        raise UserError(f"model spec 'oracle:{target}' is malformed: the oracle takes no model name, write oracle")
    if not gold_patch or not gold_patch.strip():
        raise UserError("the oracle model replays an instance's gold patch and was given none: use it in batch "
                        "runs (patchwright run --model oracle) on a dataset whose instances carry their `patch`")
    if read_files is None:
        raise UserError("the oracle model needs the workspace's files to derive its edits; batch runs "
                        "(patchwright run --model oracle) give them")
    return OracleModel(gold_patch, read_files, ModelOptions(**options), prices)


register_provider("oracle", make_oracle)

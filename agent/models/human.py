"""`human`: a person at the terminal plays the model (to debug prompts and tools by living them).

Each turn prints, on stderr, what is new since the last turn (the tool results in full, a review,
the tool schemas when they change) and reads one answer from stdin, ended by an empty line:

    view_file {"path": "shop/pricing.py"}          a tool call: NAME {JSON arguments}
    run_tests                                      (a known tool without arguments)
    Some words, then calls:                        text lines are what the model says
    str_replace {"path": "a.py",
                 "old": "x", "new": "y"}           JSON may span lines (no empty one) until it closes
                                                   an empty line ends the answer
    The bug is fixed.                              only text, no call: the final answer

Calls are checked against the tools' schemas; a malformed answer is explained and asked again.
`:tools` shows the tool schemas again, `:help` the syntax. End of input (Ctrl-D) ends the run:
the attempt stops with status `error` and says so, and the patch so far is kept.

Under `patchwright run` (one worker) the instance runs in a worker process whose sys.stdin is
/dev/null; the terminal is still its descriptor 0, which is read instead.
"""

from __future__ import annotations

import json
import re
import sys
from typing import TextIO

from sandbox.errors import UserError
from tools.registry import ToolSpec

from .base import ModelClient, ModelOptions
from .errors import ModelSetupError
from .prices import PriceTable
from .toolcalls import from_object, validate_tool_calls
from .transcript import Transcript, render_tools, render_view
from .types import Message, ModelTurn, ToolCall

LABEL = "human"
"""How the model is named in trajectories, summaries and predictions (`model_name_or_path`)."""
NOTE = "a person at the terminal plays the model (`human`): no model is called and its turns cost nothing"

HELP = """\
Answer with one or more lines, then an empty line:
  NAME {"arg": value, ...}   a tool call (JSON arguments; they may span lines until the braces close)
                             (in JSON strings write a newline as \\n)
  NAME                       a tool call without arguments
  any other line             what the model says; an answer without a call is the final answer
Several calls in one answer run in order. :tools shows the tool schemas, :help this text.
End of input (Ctrl-D) stops the run, keeping the patch so far."""

_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(\{.*)?$", re.S)


class InputEnded(ModelSetupError):
    """The person's input ended (end of file): the run stops."""


class AnswerError(ValueError):
    """An answer that cannot be read (its JSON), with what to do."""


def _depth(text: str) -> int:
    """How many JSON objects/arrays are open at the end of `text` (strings skipped)."""
    depth, in_str, escaped = 0, False, False
    for ch in text:
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return depth


def parse_answer(text: str, tools: list[ToolSpec], turn: int) -> tuple[str, list[ToolCall]]:
    """(what the model says, its calls) from a typed answer; AnswerError when a call's JSON
    arguments are not closed or do not parse."""
    names = {t.name for t in tools}
    lines = text.splitlines()
    said: list[str] = []
    calls: list[ToolCall] = []
    i = 0
    while i < len(lines):
        m = _CALL.match(lines[i])
        if m and (m[2] is not None or m[1] in names):
            name, args = m[1], m[2] or ""
            while _depth(args) > 0 and i + 1 < len(lines):
                i += 1
                args += "\n" + lines[i]
            if _depth(args) > 0:
                raise AnswerError(f"the JSON arguments of {name} are not closed")
            try:
                value = json.loads(args) if args.strip() else {}
            except ValueError as exc:
                raise AnswerError(f"the arguments of {name} are not valid JSON ({exc}); write "
                                  f'{name} {{"arg": value}}') from None
            calls.append(from_object(f"human-{turn}-{len(calls)}", name, value, raw=args or None))
        else:
            said.append(lines[i])
        i += 1
    return "\n".join(said).strip(), calls


def terminal_input() -> TextIO:
    """The terminal's input: sys.stdin, or in a worker process whose sys.stdin was replaced by
    /dev/null (multiprocessing does that), the inherited descriptor 0 (opened once per process, so
    that no read-ahead is lost between instances)."""
    global _terminal
    if _terminal is None:
        try:
            own = sys.stdin is not None and sys.stdin.fileno() == 0
        except (OSError, ValueError, AttributeError):
            own = False
        _terminal = sys.stdin if own else open(0, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    return _terminal


_terminal: TextIO | None = None


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False


class HumanModel(ModelClient):
    provider = "human"

    def __init__(self, options: ModelOptions | None = None, prices: PriceTable | None = None, *,
                 stdin: TextIO | None = None, out: TextIO | None = None):
        super().__init__(LABEL, options, prices if prices is not None else PriceTable({}))
        self._stdin = stdin
        self.out = out or sys.stderr
        self.transcript = Transcript()
        self.turns = 0
        self.ended = False

    @property
    def spec(self) -> str:
        return "human"

    @property
    def stdin(self) -> TextIO:
        if self._stdin is None:
            self._stdin = terminal_input()
        return self._stdin

    def _say(self, text: str) -> None:
        self.out.write(text if text.endswith("\n") else text + "\n")
        self.out.flush()

    def _read_answer(self) -> str | None:
        """Lines up to an empty line; None at the end of input."""
        lines: list[str] = []
        prompt = _isatty(self.stdin)
        while True:
            if prompt:
                self.out.write("> " if not lines else ". ")
                self.out.flush()
            line = self.stdin.readline()
            if not line:
                return None
            line = line.rstrip("\r\n")
            if line.strip():
                lines.append(line)
            elif lines:
                return "\n".join(lines)

    def _ended(self) -> InputEnded:
        self.ended = True
        return InputEnded(f"human: the input ended at turn {self.turns}, so the run stops here "
                          "(the patch so far is kept)")

    def _complete(self, messages: list[Message], tools: list[ToolSpec]) -> ModelTurn:
        if self.ended:
            raise InputEnded(f"human: the input ended at turn {self.turns}")
        self.turns += 1
        view = self.transcript.view(messages, tools)
        self._say(f"\n==== turn {self.turns} (you play the model; :help for the answer syntax) ====\n\n"
                  + render_view(view, tools, f"turn {self.turns - 1}"))
        while True:
            answer = self._read_answer()
            if answer is None:
                raise self._ended()
            command = answer.strip()
            if command == ":help":
                self._say(HELP)
                continue
            if command == ":tools":
                self._say(render_tools(tools))
                continue
            try:
                text, calls = parse_answer(answer, tools, self.turns)
            except AnswerError as exc:
                self._say(f"! {exc}. Answer again.")
                continue
            calls = validate_tool_calls(calls, tools)
            problems = [c.error for c in calls if c.error]
            if problems:
                self._say("\n".join(f"! {p}" for p in problems) + "\nAnswer again (the whole answer).")
                continue
            break
        self.transcript.answered(messages, Message.assistant(text, calls))
        return ModelTurn(text=text, tool_calls=calls, cost=0.0, model=LABEL,
                         stop_reason="tool_use" if calls else "end_turn")


def make_human(target: str, *, prices: PriceTable | None = None, **options) -> HumanModel:
    """The `human` provider (takes no target)."""
    if target:
        raise UserError(f"model spec 'human:{target}' is malformed: the human model takes no name, write human")
    return HumanModel(ModelOptions(**options), prices)

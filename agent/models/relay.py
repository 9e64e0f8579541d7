"""`relay:DIR`: another program (or a person with an editor) plays the model through files in DIR.

Each model request N becomes, in DIR (all written to a temporary name, then renamed):

    turn-000N.json          the whole request: messages, tools (JSON Schema), settings
    turn-000N.md            the same to read: what is new since turn N-1 (the answer, the tool
                            results in full, a review), the tool schemas when they change, the
                            system prompt on the first turn
    status.json             which turn waits for its reply: one place to poll

and the relay waits for the answer, written by the other side to a temporary name and renamed:

    turn-000N.reply.json    {"content": "...", "tool_calls": [{"name": "...", "arguments": {...}}]}

A reply without tool calls is the final answer; `notes` may hold remarks that the agent never
sees. A malformed reply (not JSON, an unknown key or tool, arguments that do not fit the schema) is
moved aside to turn-000N.rejected-K.json, turn-000N.error.md says what is wrong, and the relay
waits for turn-000N.reply.json again; the error file goes once a reply is accepted.

When the first turn of a run has had no reply for 60 s, the relay says once on stderr that nobody
seems to be answering (`relay: no reply to turn-0001 after 60 s; is a player attached to DIR?`).

Waiting is a budget: after `wait` seconds (default 1800; `relay:DIR,wait=SECONDS`, 0 for none)
without a reply the attempt ends with status `budget_exhausted` (limit `wait`), and status.json
says `timed_out`. The run's time budget (`--max-time`) cuts a wait too (limit `time`).

Answered turns are never asked again. A request whose shape matches an answered turn (the same
tools, roles, system prompt and first user messages, and the same answers so far; tool results
and later user messages may differ, since test output varies) takes that turn's reply at once: a
run resumed with `fix --resume`, a batch run again after a kill, or the same `fix` run again on
the same DIR goes through the answered turns without waiting. Anything else is a new turn,
numbered after the highest in DIR.

Under `patchwright run` each instance gets its own DIR/INSTANCE_ID/ (its own turns and
status.json), and DIR/status.json lists the turns waiting in all of them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.errors import UserError
from tools.registry import ToolSpec

from .base import ModelClient, ModelOptions
from .errors import BudgetExhausted, DeadlineExceeded
from .prices import PriceTable
from .toolcalls import from_object, parse_arguments, validate_tool_calls
from .transcript import REPLY_FORMAT, Transcript, render_view, tool_dicts
from .types import Message, ModelTurn, ToolCall

LABEL = "relay"
"""How the model is named in trajectories, summaries and predictions (`model_name_or_path`)."""
NOTE = ("another program answers the model's turns through files (`relay:DIR`): patchwright calls no model "
        "and the turns cost nothing")
DEFAULT_WAIT = 1800.0
"""Seconds a turn waits for its reply (`relay:DIR,wait=SECONDS`)."""
POLL = 0.1
"""Seconds between looks for a reply (status.json leaves `waiting` as soon as one is seen)."""
NO_PLAYER = 60.0
"""Seconds without a reply to the first turn of a run after which the relay warns once on stderr
that nobody seems to be answering (an unattended run shows before its wait limit ends it)."""
SETTLE = 1.0
"""Seconds a reply that is not valid JSON may still be growing (written in place, not renamed)."""
STATUS = "status.json"
REPLY_KEYS = {"content", "tool_calls", "notes"}
CALL_KEYS = {"name", "arguments", "id"}

_SPEC = re.compile(r"^(?P<dir>.+?)(?:,wait=(?P<wait>\d+(?:\.\d*)?))?$")
_TURN_FILE = re.compile(r"^turn-(\d{4,})\.json$")


def parse_target(target: str) -> tuple[str, float | None]:
    """`DIR[,wait=SECONDS]` -> (DIR, seconds or None for no limit)."""
    m = _SPEC.match(target.strip())
    if not m or not m["dir"]:
        raise UserError("model spec 'relay:' needs a directory: relay:DIR (or relay:DIR,wait=SECONDS)")
    wait = DEFAULT_WAIT if m["wait"] is None else float(m["wait"])
    return m["dir"], (wait or None)


def absolute_target(target: str) -> str:
    """The target with DIR made absolute (workers and resumed runs may start elsewhere)."""
    m = _SPEC.match(target.strip())
    if not m or not m["dir"]:
        return target
    return str(Path(m["dir"]).expanduser().resolve()) + (f",wait={m['wait']}" if m["wait"] is not None else "")


def _now(later: float = 0.0) -> str:
    """The time (plus `later` seconds), ISO 8601 UTC."""
    return datetime.fromtimestamp(time.time() + later, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(path: Path, text: str) -> None:
    """Write atomically: a temporary name in the same directory, then rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # the other side may run as another user
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def shape(request: dict[str, Any]) -> str:
    """What an answered turn and a new request must share for the answer to be played back (see the
    module's docstring): a hash of the tools, the roles, the system prompt, the user messages before
    the first answer, and the answers."""
    parts: list[Any] = [[t["name"] for t in request.get("tools", [])]]
    answered = False
    for m in request.get("messages", []):
        role = m.get("role")
        if role == "assistant":
            answered = True
            parts.append([role, m.get("content", ""),
                          [[c.get("name"), c.get("arguments")] for c in m.get("tool_calls", [])]])
        elif role == "system" or (role == "user" and not answered):
            parts.append([role, m.get("content", "")])
        else:
            parts.append([role, m.get("name", "")])
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class ReplyError(ValueError):
    """A reply that cannot be used; `problems` says why, one sentence each."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_reply(text: str, tools: list[ToolSpec], turn: int) -> tuple[str, list[ToolCall]]:
    """(content, checked tool calls) of a reply; ReplyError listing every problem."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ReplyError([f"the reply is not valid JSON ({exc})"]) from None
    if not isinstance(data, dict):
        raise ReplyError(["the reply must be one JSON object: " + REPLY_FORMAT])
    problems = [f"unknown key '{k}' (a reply has content, tool_calls and optionally notes)"
                for k in data if k not in REPLY_KEYS]
    content = data.get("content") or ""
    if not isinstance(content, str):
        problems.append("content must be a string")
        content = ""
    raw_calls = data.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        problems.append("tool_calls must be a list of {\"name\": ..., \"arguments\": {...}}")
        raw_calls = []
    calls: list[ToolCall] = []
    for i, c in enumerate(raw_calls):
        where = f"tool_calls[{i}]"
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
            problems.append(f"{where} must be an object with a \"name\" string and \"arguments\"")
            continue
        problems += [f"{where} has an unknown key '{k}' (a call has name and arguments)" for k in c
                     if k not in CALL_KEYS]
        args = c.get("arguments", {})
        call_id = f"relay-{turn}-{i}"
        calls.append(parse_arguments(call_id, c["name"], args) if isinstance(args, str)
                     else from_object(call_id, c["name"], args))
    if not content.strip() and not raw_calls and not problems:
        problems.append("the reply has neither content nor tool_calls")
    calls = validate_tool_calls(calls, tools)
    problems += [f"tool_calls[{i}]: {c.error}" for i, c in enumerate(calls) if c.error]
    if problems:
        raise ReplyError(problems)
    return content, calls


class RelayModel(ModelClient):
    provider = "relay"

    def __init__(self, directory: str | Path, *, wait: float | None = DEFAULT_WAIT, instance: str | None = None,
                 options: ModelOptions | None = None, prices: PriceTable | None = None):
        super().__init__(LABEL, options, prices if prices is not None else PriceTable({}))
        self.root = Path(directory).expanduser().resolve()
        if instance is not None and (not instance or instance in (".", "..") or "/" in instance or "\\" in instance):
            raise UserError(f"relay: instance id {instance!r} cannot name a directory")
        self.instance = instance
        self.dir = self.root / instance if instance else self.root
        self.wait = wait
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"relay: cannot create the directory {self.dir}: {exc.strerror or exc}") from None
        if not os.access(self.dir, os.W_OK):
            raise UserError(f"relay: the directory {self.dir} is not writable")
        self.turn = 0
        """The last turn this client asked or played back (0: none yet)."""
        self.transcript = Transcript()
        self._shapes: dict[int, str] | None = None
        self._lock: Any = None
        self._warned = False
        """Whether the warning that nobody answers was given (once per client)."""
        self._deadline: float | None = None
        """The caller's deadline for the call under way (the run's time budget): it cuts the wait too."""

    @property
    def spec(self) -> str:
        return f"relay:{self.dir}"

    # -- files -----------------------------------------------------------------------------------
    def path(self, turn: int, suffix: str) -> Path:
        return self.dir / f"turn-{turn:04d}{suffix}"

    def _acquire(self) -> None:
        """One run at a time per directory: a lock held while the client lives."""
        if self._lock is not None:
            return
        fh = open(self.dir / ".lock", "a+")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise UserError(f"relay: {self.dir} is in use by another run; give each run its own directory") from None
        self._lock = fh

    def _known(self) -> dict[int, str]:
        """The shape of every turn in the directory (read once, then kept up to date)."""
        if self._shapes is None:
            self._shapes = {}
            for p in self.dir.iterdir():
                m = _TURN_FILE.match(p.name)
                if m:
                    try:
                        self._shapes[int(m[1])] = shape(json.loads(p.read_text(encoding="utf-8")))
                    except (OSError, ValueError):
                        self._shapes[int(m[1])] = ""
        return self._shapes

    def _set_status(self, state: str, turn: int, **extra: Any) -> None:
        """status.json: `state` (waiting, working, timed_out, closed), the turn, and the list of turns
        waiting (this one while it waits: its files, since when, until when, the error file of a
        rejected reply)."""
        status: dict[str, Any] = {"state": state, "turn": turn, "waiting": []}
        if state == "waiting":
            status["waiting"].append({"turn": turn, "request": self.path(turn, ".json").name,
                                      "markdown": self.path(turn, ".md").name,
                                      "reply": self.path(turn, ".reply.json").name, **extra})
        else:
            status.update(extra)
        status.update(instance=self.instance, pid=os.getpid(), updated=_now())
        _write(self.dir / STATUS, json.dumps(status, indent=2) + "\n")
        if self.instance:
            self._update_index()

    def _update_index(self) -> None:
        """DIR/status.json of a batch run: every instance's state and the turns waiting in all of them
        (paths relative to DIR). Rebuilt under a lock after each change, so the last writer saw all."""
        with open(self.root / ".status.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            instances: dict[str, Any] = {}
            waiting: list[dict[str, Any]] = []
            for p in sorted(self.root.glob(f"*/{STATUS}")):
                try:
                    s = json.loads(p.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                name = p.parent.name
                instances[name] = {"state": s.get("state"), "turn": s.get("turn")}
                for e in s.get("waiting", []):
                    waiting.append({**e, "instance": name, **{k: f"{name}/{e[k]}" for k in
                                                              ("request", "markdown", "reply", "error") if e.get(k)}})
            state = "waiting" if waiting else "working" if any(
                i["state"] == "working" for i in instances.values()) else "idle"
            _write(self.root / STATUS, json.dumps({"state": state, "waiting": waiting, "instances": instances,
                                                   "updated": _now()}, indent=2) + "\n")

    # -- a turn ----------------------------------------------------------------------------------
    def _request(self, turn: int, messages: list[Message], tools: list[ToolSpec]) -> dict[str, Any]:
        return {"turn": turn, "instance": self.instance, "messages": [m.to_dict() for m in messages],
                "tools": tool_dicts(tools),
                "settings": {"temperature": self.options.temperature, "max_tokens": self.options.max_tokens,
                             "wait_seconds": self.wait},
                "reply": {"file": self.path(turn, ".reply.json").name, "format": REPLY_FORMAT}}

    def _markdown(self, turn: int, messages: list[Message], tools: list[ToolSpec]) -> str:
        view = self.transcript.view(messages, tools)
        reply = self.path(turn, ".reply.json").name
        head = (f"# Turn {turn}{f' ({self.instance})' if self.instance else ''}\n\n"
                f"You play the model. Answer in `{reply}` (write it to a temporary name, then rename it):\n\n"
                f"    {REPLY_FORMAT}\n\n"
                "A reply without tool_calls is your final answer. The whole request (messages, the tools with "
                f"their JSON Schemas, settings) is in `{self.path(turn, '.json').name}`.\n\n")
        return head + render_view(view, tools, f"turn {self.turn}")  # the last turn this run played

    def _find(self, request: dict[str, Any]) -> int | None:
        """The first turn after the last one played whose shape matches the request."""
        want = shape(request)
        matches = [n for n, s in self._known().items() if s == want and n > self.turn]
        return min(matches) if matches else None

    def complete(self, messages, tools=(), *, deadline: float | None = None) -> ModelTurn:
        """As ModelClient.complete; the wait for a reply also ends at `deadline` (DeadlineExceeded:
        the time budget, e.g. `run --max-time`, ran out while the other side had not answered)."""
        self._deadline = deadline
        try:
            return super().complete(messages, tools, deadline=deadline)
        finally:
            self._deadline = None

    def _complete(self, messages: list[Message], tools: list[ToolSpec]) -> ModelTurn:
        self._acquire()
        known = self._known()
        request = self._request(0, messages, tools)
        turn = self._find(request)
        if turn is not None and self.path(turn, ".reply.json").exists():
            try:
                content, calls = self._read(turn, tools)
            except ReplyError:
                pass  # asked again below, the problems written back
            else:  # answered before: played back, not asked again
                return self._answered(turn, messages, content, calls, replayed=True)
        if turn is None:
            turn = max(known, default=0) + 1
        request = self._request(turn, messages, tools)
        _write(self.path(turn, ".json"), json.dumps(request, indent=1, ensure_ascii=False) + "\n")
        _write(self.path(turn, ".md"), self._markdown(turn, messages, tools))
        known[turn] = shape(request)
        content, calls = self._await(turn, tools)
        return self._answered(turn, messages, content, calls, replayed=False)

    def _answered(self, turn: int, messages: list[Message], content: str, calls: list[ToolCall],
                  replayed: bool) -> ModelTurn:
        self.turn = turn
        with contextlib.suppress(OSError):
            self.path(turn, ".error.md").unlink()
        self.transcript.answered(messages, Message.assistant(content, calls))
        self._set_status("working", turn, answered="before" if replayed else "now")
        return ModelTurn(text=content, tool_calls=calls, cost=0.0, model=LABEL,
                         stop_reason="tool_use" if calls else "end_turn")

    def _read(self, turn: int, tools: list[ToolSpec]) -> tuple[str, list[ToolCall]]:
        """The reply of `turn`, parsed and checked (ReplyError when it is malformed). A reply that is not
        valid JSON is read again once it has not changed for SETTLE seconds (it may still be written
        in place, not renamed)."""
        path = self.path(turn, ".reply.json")
        text = None
        while True:
            try:
                latest = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise ReplyError([f"the reply cannot be read ({exc.strerror or exc})"]) from None
            if latest == text:
                return parse_reply(text, tools, turn)
            text = latest
            try:
                json.loads(text)
            except ValueError:
                time.sleep(SETTLE)
                continue
            return parse_reply(text, tools, turn)

    def _reject(self, turn: int, err: ReplyError, status: dict[str, Any]) -> None:
        """Write the error file and the status that points to it, then move the bad reply aside (in this
        order: whoever sees no reply file also sees the error)."""
        k = 1
        while self.path(turn, f".rejected-{k}.json").exists():
            k += 1
        reply, aside = self.path(turn, ".reply.json"), self.path(turn, f".rejected-{k}.json")
        _write(self.path(turn, ".error.md"),
               f"# Turn {turn}: the reply was rejected\n\n"
               f"`{reply.name}` was moved to `{aside.name}`. What is wrong:\n\n"
               + "".join(f"- {p}\n" for p in err.problems)
               + f"\nWrite a corrected reply to `{reply.name}` (to a temporary name, then rename it):\n\n"
               f"    {REPLY_FORMAT}\n")
        status.update(error=self.path(turn, ".error.md").name, rejected=k)
        self._set_status("waiting", turn, **status)
        os.replace(reply, aside)

    def _await(self, turn: int, tools: list[ToolSpec]) -> tuple[str, list[ToolCall]]:
        """Wait for the reply of `turn` (re-asking after each malformed one) within the wait limit and
        the caller's deadline, whichever ends first."""
        start = time.monotonic()
        waited = None if self.wait is None else start + self.wait
        ends = min((d for d in (waited, self._deadline) if d is not None), default=None)
        status: dict[str, Any] = {"since": _now(), "deadline": None if ends is None else _now(ends - start)}
        self._set_status("waiting", turn, **status)
        reply = self.path(turn, ".reply.json")
        warn_at = start + NO_PLAYER if self.turn == 0 and not self._warned else None  # no reply yet in this run
        while True:
            if reply.exists():
                self._set_status("working", turn, reading=reply.name)  # seen: no longer waiting
                try:
                    return self._read(turn, tools)
                except ReplyError as exc:
                    self._reject(turn, exc, status)
                    continue
            now = time.monotonic()
            if warn_at is not None and now >= warn_at:
                warn_at, self._warned = None, True
                print(f"relay: no reply to {reply.name.removesuffix('.reply.json')} after {NO_PLAYER:g} s; "
                      f"is a player attached to {self.dir}?", file=sys.stderr, flush=True)
            if waited is not None and now >= waited:
                self._set_status("timed_out", turn, **status)
                raise BudgetExhausted("wait", f"relay: turn {turn} got no reply within {self.wait:g} s "
                                              f"(waited for {reply})")
            if self._deadline is not None and now >= self._deadline:
                self._set_status("timed_out", turn, **status)
                raise DeadlineExceeded(f"relay: turn {turn} got no reply before the time budget ran out "
                                       f"(waited {now - start:.0f} s for {reply})")
            time.sleep(POLL)

    def close(self) -> None:
        if self._lock is None:
            return
        with contextlib.suppress(OSError):
            self._set_status("closed", self.turn)
        self._lock.close()
        self._lock = None


def make_relay(target: str, *, instance: str | None = None, prices: PriceTable | None = None,
               **options: Any) -> RelayModel:
    """The `relay` provider: `relay:DIR[,wait=SECONDS]`; batch runs pass `instance=` (the instance's
    turns go to DIR/INSTANCE_ID/)."""
    directory, wait = parse_target(target)
    return RelayModel(directory, wait=wait, instance=instance, options=ModelOptions(**options), prices=prices)


# -- a relay directory as a replay cassette ------------------------------------------------------
def _has_turns(directory: Path) -> bool:
    return any(_TURN_FILE.match(p.name) for p in directory.iterdir())


def cassette_lines(directory: str | Path) -> list[dict[str, Any]]:
    """The accepted replies of one run's relay directory, in turn order, as replay cassette lines
    (`{"text": ..., "tool_calls": [{"name": ..., "arguments": {...}}]}`, see replay.py). Rejected
    replies (moved aside) and `notes` are left out, and so is a turn never answered. A reply the relay
    would not accept, or a turn file that cannot be read, is a UserError naming the file."""
    root = Path(directory)
    turns = sorted(int(m[1]) for p in root.iterdir() if (m := _TURN_FILE.match(p.name)))
    lines: list[dict[str, Any]] = []
    for turn in turns:
        reply = root / f"turn-{turn:04d}.reply.json"
        if not reply.is_file():
            continue
        try:
            request = json.loads((root / f"turn-{turn:04d}.json").read_text(encoding="utf-8"))
            tools = [ToolSpec(t["name"], t.get("description", ""), t["parameters"]) for t in request["tools"]]
            content, calls = parse_reply(reply.read_text(encoding="utf-8"), tools, turn)
        except ReplyError as exc:
            raise UserError(f"relay: {reply} is not a reply the relay accepts: {exc}") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"relay: cannot read turn {turn} in {root}: {type(exc).__name__}: {exc}") from None
        lines.append({"text": content, "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in calls]})
    return lines


def relay_cassettes(directory: str | Path) -> dict[str | None, list[dict[str, Any]]]:
    """The cassette lines of a relay directory: {None: lines} for one run's directory (it holds turn
    files), {INSTANCE_ID: lines} for a batch run's (each instance's turns in DIR/INSTANCE_ID/). A
    directory with no answered turn at all is a UserError."""
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise UserError(f"no such relay directory: {directory}")
    if _has_turns(root):
        found: dict[str | None, list[dict[str, Any]]] = {None: cassette_lines(root)}
    else:
        found = {p.name: cassette_lines(p) for p in sorted(root.iterdir()) if p.is_dir() and _has_turns(p)}
    if not any(found.values()):
        raise UserError(f"{directory} holds no answered relay turn (turn-NNNN.reply.json), neither in it nor in "
                        "an instance's directory DIR/INSTANCE_ID/")
    return found

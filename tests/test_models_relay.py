"""The `human` and `relay:DIR` models on their own: specs and labels, what a turn shows, answers
typed or written to files (malformed ones sent back), the wait limit, and turns played back from a
relay directory instead of being asked again."""

from __future__ import annotations

import io
import json

import pytest
from relay_helpers import Answerer

from agent.budget import BudgetExhausted
from agent.models import Message, ToolCall, make_model, model_label, stand_in
from agent.models.human import HumanModel, InputEnded, parse_answer
from agent.models.registry import absolute_spec
from agent.models.relay import RelayModel, ReplyError, parse_reply, shape
from agent.models.transcript import Transcript, fence
from sandbox.errors import UserError
from swebench_runner.task import model_name
from tools.registry import ToolSpec

VIEW = ToolSpec("view_file", "Show a file.", {
    "type": "object", "properties": {"path": {"type": "string", "description": "The file."},
                                     "start": {"type": "integer", "default": 1}},
    "required": ["path"], "additionalProperties": False})
TESTS = ToolSpec("run_tests", "Run the tests.", {
    "type": "object", "properties": {"tests": {"type": "array", "items": {"type": "string"}}}})
PICK = ToolSpec("select_files", "Choose files.", {
    "type": "object", "properties": {"paths": {"type": "array", "items": {"type": "string"}}}, "required": ["paths"]})
TOOLS = [VIEW, TESTS]
SYSTEM = Message.system("You are patchwright.")
TASK = Message.user("<issue>mean is off</issue>")


def conversation(*answers: tuple[str, list[ToolCall], list[str]]) -> list[Message]:
    """system, task, then per answer: the assistant message and one tool result per call."""
    msgs = [SYSTEM, TASK]
    for text, calls, results in answers:
        msgs.append(Message.assistant(text, calls))
        msgs += [Message.tool(c, r) for c, r in zip(calls, results, strict=True)]
    return msgs


# -- specs and labels --------------------------------------------------------------------------
@pytest.mark.parametrize("spec, words", [
    ("human:bob", "the human model takes no name, write human"),
    ("relay:", "needs a directory: relay:DIR"),
])
def test_bad_stand_in_specs_are_one_line_user_errors(spec, words):
    with pytest.raises(UserError) as info:
        make_model(spec)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_stand_ins_are_labelled_and_never_priced(tmp_path):
    assert model_label("human") == model_name("human") == "human"
    assert model_label(f"relay:{tmp_path}") == model_name(f"relay:{tmp_path},wait=5") == "relay"
    assert model_label("openai:gpt-5") == model_name("openai:gpt-5") == "openai:gpt-5"
    assert stand_in("openai:gpt-5") is None and "no model" in stand_in("human").note
    assert "cost nothing" in stand_in("relay:x").note
    assert absolute_spec("relay:rel/dir,wait=30") == f"relay:{(tmp_path.cwd() / 'rel/dir').resolve()},wait=30"
    assert absolute_spec("openai:gpt-5") == "openai:gpt-5"
    relay = make_model(f"relay:{tmp_path / 'turns'},wait=2.5")
    assert isinstance(relay, RelayModel) and relay.wait == 2.5 and (tmp_path / "turns").is_dir()
    assert make_model(f"relay:{tmp_path},wait=0").wait is None  # no limit
    assert isinstance(make_model("human"), HumanModel)


# -- what a turn shows -------------------------------------------------------------------------
def test_transcript_shows_what_is_new_and_tools_when_they_change():
    t = Transcript()
    first = [SYSTEM, TASK]
    v = t.view(first, TOOLS)
    assert v.first and v.new == first and v.tools_changed
    call = ToolCall("c1", "view_file", {"path": "a.py"})
    t.answered(first, Message.assistant("look", [call]))
    later = conversation(("look", [call], ["1 x = 1"]))
    v = t.view(later, TOOLS)
    assert not v.first and not v.restarted and [m.role for m in v.new] == ["tool"] and not v.tools_changed
    t.answered(later, Message.assistant("done"))
    v = t.view([SYSTEM, Message.user("pick files")], [PICK])  # a new conversation, the system prompt kept
    assert v.restarted and v.kept == 1 and [m.content for m in v.new] == ["pick files"] and v.tools_changed


def test_fence_is_longer_than_any_backtick_run_inside():
    assert fence("a ```` b").startswith("`````text\n") and fence("x").endswith("\n```")


# -- human: answers typed at the terminal ------------------------------------------------------
def test_parse_answer_reads_calls_text_and_multiline_json():
    text, calls = parse_answer('Let me look.\nview_file {"path": "a.py",\n  "start": 3}\nrun_tests', TOOLS, 4)
    assert text == "Let me look."
    assert [(c.id, c.name, c.arguments) for c in calls] == [("human-4-0", "view_file", {"path": "a.py", "start": 3}),
                                                            ("human-4-1", "run_tests", {})]
    assert parse_answer("The bug is fixed.", TOOLS, 1) == ("The bug is fixed.", [])


def test_human_reasks_a_malformed_answer_and_ends_cleanly_at_eof():
    typed = ("view_file {\"pth\": \"a.py\"}\n\n"       # not the schema: asked again
             "view_file {\"path\": \"a.py\"\n\n"       # JSON never closed: asked again
             ":help\n\n"
             "I will read it.\nview_file {\"path\": \"a.py\"}\n\n"
             "Done: fixed.\n\n")
    out = io.StringIO()
    model = HumanModel(stdin=io.StringIO(typed), out=out)
    turn = model.complete([SYSTEM, TASK], TOOLS)
    assert turn.text == "I will read it." and turn.tool_calls[0].arguments == {"path": "a.py"}
    assert turn.cost == 0.0 and turn.model == "human" and turn.tool_calls[0].error is None
    shown = out.getvalue()
    assert "You are patchwright." in shown and "<issue>mean is off</issue>" in shown  # the first turn shows all
    assert "- `path` (string, required): The file." in shown  # the tools, on the first turn
    assert "! Malformed call to view_file: missing required argument 'path'" in shown
    assert "! the JSON arguments of view_file are not closed" in shown
    assert "NAME {\"arg\": value, ...}" in shown  # :help
    msgs = conversation(("I will read it.", turn.tool_calls, ["1 x = 1\n" * 3]))
    final = model.complete(msgs, TOOLS)
    assert final.text == "Done: fixed." and final.tool_calls == [] and final.stop_reason == "end_turn"
    second = out.getvalue()[len(shown):]
    assert "1 new message(s) since turn 1" in second and "You are patchwright." not in second
    assert "Tools: unchanged since turn 1 (view_file, run_tests)." in second
    with pytest.raises(InputEnded, match="the input ended at turn 3"):
        model.complete([*msgs, final.message, Message.user("tests fail")], TOOLS)


# -- relay: answers written to files -----------------------------------------------------------
def test_parse_reply_lists_every_problem():
    cases = {
        "{nope": "the reply is not valid JSON",
        "[1]": "the reply must be one JSON object",
        '{"content": "x", "toolcalls": []}': "unknown key 'toolcalls'",
        "{}": "the reply has neither content nor tool_calls",
        '{"tool_calls": [{"name": "edit_file", "arguments": {}}]}': "there is no tool named 'edit_file'",
        '{"tool_calls": [{"name": "view_file", "arguments": {"path": 3}}]}': "'path' must be of type string",
        '{"tool_calls": [{"name": "view_file", "arguments": "{\\"path\\": "}]}': "arguments are not valid JSON",
        '{"tool_calls": [{"arguments": {}}]}': 'must be an object with a "name" string',
    }
    for text, words in cases.items():
        with pytest.raises(ReplyError) as info:
            parse_reply(text, TOOLS, 1)
        assert words in str(info.value), (text, str(info.value))
    content, calls = parse_reply('{"content": "ok", "notes": "for the record", "tool_calls": [{"name": "view_file", '
                                 '"arguments": "{\\"path\\": \\"a.py\\"}"}]}', TOOLS, 7)
    assert content == "ok" and calls == [ToolCall("relay-7-0", "view_file", {"path": "a.py"})]


def test_relay_turn_files_a_malformed_reply_sent_back_and_the_status(tmp_path):
    big = "".join(f"line {i} of a long test output\n" for i in range(3000))  # ~90 kB: shown whole
    replies = iter([
        {"content": "look", "tool_calls": [{"name": "view_file", "arguments": {"pth": "a.py"}}]},
        "not json at all",
        {"content": "look", "tool_calls": [{"name": "view_file", "arguments": {"path": "a.py"}}]},
        {"content": "Fixed.", "notes": "the prompt was clear"},
    ])
    seen_errors: list[str] = []

    def answer(request, markdown):
        err = tmp_path / f"turn-{request['turn']:04d}.error.md"
        if err.exists():
            seen_errors.append(err.read_text())
        return next(replies)

    model = RelayModel(tmp_path, wait=30)
    with Answerer(tmp_path, answer) as other:
        first = model.complete([SYSTEM, TASK], TOOLS)
        msgs = conversation(("look", first.tool_calls, [big]))
        second = model.complete(msgs, TOOLS)
    assert other.failures == [] and other.asked_twice == []
    assert first.tool_calls == [ToolCall("relay-1-0", "view_file", {"path": "a.py"})] and first.text == "look"
    assert first.cost == second.cost == 0.0 and first.model == second.model == "relay"
    assert second.text == "Fixed." and second.tool_calls == []
    # the malformed replies went back as the error file, were moved aside, and the turn was asked again
    assert len(seen_errors) == 2
    assert "missing required argument 'path'" in seen_errors[0] and "unexpected argument 'pth'" in seen_errors[0]
    assert "not valid JSON" in seen_errors[1] and "turn-0001.rejected-2.json" in seen_errors[1]
    assert sorted(p.name for p in tmp_path.glob("turn-0001*")) == [
        "turn-0001.json", "turn-0001.md", "turn-0001.rejected-1.json", "turn-0001.rejected-2.json",
        "turn-0001.reply.json"]  # the error file goes once a reply is accepted
    # the request file holds the whole request; the markdown what is new, in full
    request = json.loads((tmp_path / "turn-0002.json").read_text())
    assert [m["role"] for m in request["messages"]] == ["system", "user", "assistant", "tool"]
    assert [t["name"] for t in request["tools"]] == ["view_file", "run_tests"]
    assert request["tools"][0]["parameters"] == VIEW.parameters and request["settings"]["wait_seconds"] == 30
    md1, md2 = other.markdown[(None, 1)], other.markdown[(None, 2)]
    assert "## System prompt" in md1 and "You are patchwright." in md1 and "### view_file" in md1
    assert "You are patchwright." not in md2 and big in md2 and "1 new message(s) since turn 1" in md2
    assert "Tools: unchanged since turn 1" in md2
    model.close()
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["state"] == "closed" and status["turn"] == 2 and status["waiting"] == []


def test_the_wait_limit_is_a_budget(tmp_path):
    model = RelayModel(tmp_path, wait=0.6)
    with pytest.raises(BudgetExhausted) as info:
        model.complete([SYSTEM, TASK], TOOLS)
    assert info.value.limit == "wait" and "relay: turn 1 got no reply within 0.6 s" in str(info.value)
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["state"] == "timed_out" and status["turn"] == 1 and status["deadline"]


def test_the_time_budget_cuts_a_wait_shorter_than_the_wait_limit(tmp_path):
    """`run --max-time` must end a relay run whose other side stopped answering, however long the
    per-turn wait limit: the caller's deadline ends the wait (DeadlineExceeded, which the runtime
    turns into budget_exhausted, limit `time`)."""
    import time

    from agent.models.errors import DeadlineExceeded

    model = RelayModel(tmp_path, wait=600)
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded) as info:
        model.complete([SYSTEM, TASK], TOOLS, deadline=start + 0.6)
    assert time.monotonic() - start < 5
    assert "relay: turn 1 got no reply before the time budget ran out" in str(info.value)
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["state"] == "timed_out" and status["turn"] == 1


def test_answered_turns_are_played_back_not_asked_again(tmp_path):
    call = {"name": "view_file", "arguments": {"path": "a.py"}}

    def answer(request, markdown):
        return {"content": "look", "tool_calls": [call]} if len(request["messages"]) == 2 else {"content": "Done."}

    def play(model: RelayModel, tool_output: str) -> list:
        first = model.complete([SYSTEM, TASK], TOOLS)
        second = model.complete(conversation(("look", first.tool_calls, [tool_output])), TOOLS)
        return [first, second]

    with Answerer(tmp_path, answer) as other:
        turns = play(RelayModel(tmp_path, wait=30), "1 x = 1  (0.51 s)")
    assert dict(other.answered) == {(None, 1): 1, (None, 2): 1}
    # a new process on the same directory: the same flow (a tool output that differs in its timing) is
    # played back at once, without a reply being waited for
    again = RelayModel(tmp_path, wait=0.5)
    replayed = play(again, "1 x = 1  (0.73 s)")
    assert [(t.text, t.tool_calls) for t in replayed] == [(t.text, t.tool_calls) for t in turns]
    assert json.loads((tmp_path / "status.json").read_text())["answered"] == "before"
    # a request of another shape is a new turn, numbered after the others
    with pytest.raises(BudgetExhausted):
        again.complete([SYSTEM, Message.user("another issue")], TOOLS)
    assert (tmp_path / "turn-0003.json").exists() and not (tmp_path / "turn-0003.reply.json").exists()
    assert shape(json.loads((tmp_path / "turn-0001.json").read_text())) != \
        shape(json.loads((tmp_path / "turn-0003.json").read_text()))


def test_one_run_at_a_time_per_relay_directory(tmp_path):
    (tmp_path / "turn-0001.reply.json").write_text('{"content": "Done."}')
    first = RelayModel(tmp_path, wait=5)
    first.complete([SYSTEM, TASK], TOOLS)  # takes the lock
    with pytest.raises(UserError, match="is in use by another run"):
        RelayModel(tmp_path, wait=5).complete([SYSTEM, TASK], TOOLS)
    first.close()


def test_batch_instances_get_their_own_directories_and_one_status_lists_them(tmp_path):
    a = RelayModel(tmp_path, wait=30, instance="repo__a-1")
    b = RelayModel(tmp_path, wait=30, instance="repo__b-2")
    with Answerer(tmp_path, lambda request, md: {"content": f"done with {request['instance']}"}) as other:
        assert a.complete([SYSTEM, TASK], TOOLS).text == "done with repo__a-1"
        assert b.complete([SYSTEM, TASK], TOOLS).text == "done with repo__b-2"
    assert set(other.answered) == {("repo__a-1", 1), ("repo__b-2", 1)}
    assert (tmp_path / "repo__a-1" / "turn-0001.reply.json").exists()
    index = json.loads((tmp_path / "status.json").read_text())
    assert index["instances"] == {"repo__a-1": {"state": "working", "turn": 1},
                                  "repo__b-2": {"state": "working", "turn": 1}}
    with pytest.raises(UserError, match="cannot name a directory"):
        RelayModel(tmp_path, instance="../x")


def test_the_status_leaves_waiting_as_soon_as_the_reply_file_is_seen(tmp_path):
    """A player watching status.json saw `waiting` long after its reply was written: the relay looked
    every 0.2 s and said nothing until the reply was read and checked (a reply still being written
    in place is read again after a second)."""
    import threading
    import time

    from agent.models import relay

    assert relay.POLL == 0.1
    model = RelayModel(tmp_path, wait=30)
    states: list[tuple[float, str]] = []

    def player():
        status = tmp_path / "status.json"
        while not status.exists() or json.loads(status.read_text())["state"] != "waiting":
            time.sleep(0.01)
        reply = tmp_path / "turn-0001.reply.json"
        reply.write_text('{"content": "Fi')  # written in place: not JSON yet
        written = time.monotonic()
        while time.monotonic() - written < 0.8:
            states.append((time.monotonic() - written, json.loads(status.read_text())["state"]))
            time.sleep(0.02)
        reply.write_text('{"content": "Fixed."}')

    thread = threading.Thread(target=player, daemon=True)
    thread.start()
    turn = model.complete([SYSTEM, TASK], TOOLS)
    thread.join(10)
    assert turn.text == "Fixed."
    seen = [t for t, state in states if state == "working"]
    assert seen and seen[0] < 0.35, states  # within a look or two of the file, while it is still being read
    assert all(state == "working" for t, state in states if t >= 0.35), states
    model.close()


def test_an_unanswered_first_turn_is_warned_of_once_on_stderr(tmp_path, monkeypatch, capsys):
    """An unattended relay run showed nothing until its per-turn wait limit (30 minutes) closed the
    instance: after 60 s without a reply to its first turn it now says so, once."""
    from agent.models import relay

    monkeypatch.setattr(relay, "NO_PLAYER", 0.3)
    model = RelayModel(tmp_path / "turns", wait=1)
    with pytest.raises(BudgetExhausted):
        model.complete([SYSTEM, TASK], TOOLS)
    err = capsys.readouterr().err
    assert err == (f"relay: no reply to turn-0001 after 0.3 s; is a player attached to {tmp_path / 'turns'}?\n")
    model.close()
    # answered in time: no warning; and none for a later turn once a reply came
    model = RelayModel(tmp_path / "answered", wait=5)
    with Answerer(tmp_path / "answered", lambda request, markdown: {"content": "Fixed."}):
        model.complete([SYSTEM, TASK], TOOLS)
    assert model.turn == 1 and capsys.readouterr().err == ""
    with pytest.raises(BudgetExhausted):
        model.wait = 0.6
        model.complete([SYSTEM, TASK, Message.assistant("Fixed."), Message.user("review: again")], TOOLS)
    assert capsys.readouterr().err == ""
    model.close()

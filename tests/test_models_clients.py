"""The openai and anthropic clients, through the real SDKs, against the local stub server."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from agent.models import (
    Message,
    ModelError,
    PriceTable,
    RetriesExhausted,
    RetryPolicy,
    make_model,
)
from agent.models.prices import DEFAULT_PRICES
from sandbox.errors import SystemFault, UserError
from stub_llm import Turn
from tools.registry import ToolSpec

VIEW = ToolSpec("view_file", "Show a file with line numbers.", {
    "type": "object",
    "properties": {"path": {"type": "string"}, "start": {"type": "integer"}},
    "required": ["path"],
})
EDIT = ToolSpec("replace_function", "Replace a function.", {
    "type": "object", "properties": {"path": {"type": "string"}, "name": {"type": "string"},
                                     "code": {"type": "string"}},
    "required": ["path", "name", "code"],
})
TOOLS = [VIEW, EDIT]
FAST = RetryPolicy(max_attempts=4, initial_delay=0.02, max_delay=0.1, max_total_wait=5)
MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-5-5"}


def client(provider: str, stub, **options):
    """A client of `provider` pointed at the stub, whose waits are recorded (and really slept)."""
    base = stub.openai_url if provider == "openai" else stub.anthropic_url
    options.setdefault("retry", FAST)
    options.setdefault("api_key", "test-key")
    model = make_model(f"{provider}:{MODELS[provider]}@{base}", **options)
    model.waits = []

    def sleep(seconds: float) -> None:
        model.waits.append(seconds)
        time.sleep(seconds)

    model.sleep = sleep
    return model


@pytest.fixture(params=["openai", "anthropic"])
def provider(request) -> str:
    return request.param


def conversation() -> list[Message]:
    return [Message.system("You fix bugs."), Message.user("Repository map: pkg/core.py ...", cache=True),
            Message.user("Issue: add() is wrong.")]


def test_tool_call_round_trip(provider, stub_llm):
    stub_llm.reply("Let me look.", calls=[("view_file", {"path": "pkg/core.py", "start": 1})])
    stub_llm.reply("Found it.", calls=[("replace_function", {"path": "pkg/core.py", "name": "add",
                                                             "code": "def add(a, b):\n    return a + b\n"})])
    stub_llm.reply("Done.")
    model = client(provider, stub_llm)
    msgs = conversation()
    turn = model.complete(msgs, TOOLS)
    assert turn.text == "Let me look."
    [call] = turn.tool_calls
    assert (call.name, call.arguments, call.error) == ("view_file", {"path": "pkg/core.py", "start": 1}, None)
    msgs += [turn.message, Message.tool(call, "1 def add(a, b):\n2     return a - b")]
    turn = model.complete(msgs, TOOLS)
    assert turn.tool_calls[0].arguments["code"].startswith("def add(a, b):\n")
    msgs += [turn.message, Message.tool(turn.tool_calls[0], "replaced add")]
    final = model.complete(msgs, TOOLS)
    assert final.text == "Done." and final.tool_calls == []
    assert final.stop_reason in ("stop", "end_turn")

    # what went over the wire: the tools in the provider's schema, and the tool results tied to the calls
    bodies = stub_llm.bodies(provider)
    assert len(bodies) == 3
    last = bodies[-1]
    assert last["model"] == MODELS[provider]
    assert last["tools"] == [getattr(t, f"{provider}_schema")() for t in TOOLS]
    if provider == "openai":
        roles = [m["role"] for m in last["messages"]]
        assert roles == ["system", "user", "user", "assistant", "tool", "assistant", "tool"]
        assistant, result = last["messages"][3], last["messages"][4]
        assert assistant["tool_calls"][0]["id"] == call.id
        assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == call.arguments
        assert result == {"role": "tool", "tool_call_id": call.id, "content": "1 def add(a, b):\n2     return a - b"}
    else:
        assert [t["role"] for t in last["messages"]] == ["user", "assistant", "user", "assistant", "user"]
        assert last["system"][0]["text"] == "You fix bugs."
        use = last["messages"][1]["content"][-1]
        assert use == {"type": "tool_use", "id": call.id, "name": "view_file", "input": call.arguments}
        result = last["messages"][2]["content"][0]
        assert result["type"] == "tool_result" and result["tool_use_id"] == call.id
        assert result["content"].startswith("1 def add")
    assert stub_llm.requests[0].headers.get("x-stainless-retry-count") == "0"


def test_429_then_success_honours_retry_after(provider, stub_llm):
    stub_llm.fail(429, retry_after_ms=120).fail(429, retry_after=0.2).reply("ok")
    model = client(provider, stub_llm)
    turn = model.complete(conversation(), TOOLS)
    assert turn.text == "ok" and turn.attempts == 3
    assert model.waits == [pytest.approx(0.12), pytest.approx(0.2)]  # the server's waits, exactly
    assert len(stub_llm.requests) == 3


def test_500_then_success_backs_off_with_jitter(provider, stub_llm):
    stub_llm.fail(500).fail(503).reply("ok")
    model = client(provider, stub_llm, retry=RetryPolicy(initial_delay=0.04, jitter=0.5, max_delay=1))
    turn = model.complete(conversation(), TOOLS)
    assert turn.text == "ok" and turn.attempts == 3
    first, second = model.waits
    assert 0.02 <= first <= 0.04 and 0.04 <= second <= 0.08  # doubling, the lower half random


def test_timeout_then_success(provider, stub_llm):
    stub_llm.reply("too late", delay=5).reply("in time")
    model = client(provider, stub_llm, timeout=0.5)
    turn = model.complete(conversation(), TOOLS)
    assert turn.text == "in time" and turn.attempts == 2
    assert len(model.waits) == 1


def test_retries_exhausted_is_one_clear_line(provider, stub_llm):
    for _ in range(3):
        stub_llm.fail(502, message="bad gateway upstream")
    model = client(provider, stub_llm, retry=RetryPolicy(max_attempts=3, initial_delay=0.01))
    with pytest.raises(RetriesExhausted) as info:
        model.complete(conversation(), TOOLS)
    msg = str(info.value)
    assert "\n" not in msg and "3 attempt(s)" in msg and "HTTP 502" in msg and "bad gateway upstream" in msg
    assert msg.startswith(f"{provider}:")
    # a one-line error, but the service's failing, not the user's: exit 1, not the usage error's 2
    assert isinstance(info.value, SystemFault) and not isinstance(info.value, UserError)
    assert len(stub_llm.requests) == 3 and stub_llm.pending == 0


def test_retry_after_beyond_the_wait_budget_gives_up_at_once(provider, stub_llm):
    stub_llm.fail(429, retry_after=3600).reply("never asked for")
    model = client(provider, stub_llm, retry=RetryPolicy(max_total_wait=60))
    with pytest.raises(RetriesExhausted, match="3600.0 s more would pass the retry budget of 60 s"):
        model.complete(conversation(), TOOLS)
    assert model.waits == [] and len(stub_llm.requests) == 1


def test_connection_refused_is_retried_then_reported(provider):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}" + ("/v1" if provider == "openai" else "")
    model = make_model(f"{provider}:{MODELS[provider]}@{base}", api_key="k",
                       retry=RetryPolicy(max_attempts=2, initial_delay=0.01))
    with pytest.raises(RetriesExhausted, match="2 attempt.*connection failed"):
        model.complete(conversation(), TOOLS)


@pytest.mark.parametrize("status, words", [(401, "check"), (400, "refused the request"), (404, "not found")])
def test_client_errors_are_not_retried(provider, stub_llm, status, words):
    stub_llm.fail(status, message="nope")
    model = client(provider, stub_llm)
    with pytest.raises(ModelError) as info:
        model.complete(conversation(), TOOLS)
    assert words in str(info.value) and "\n" not in str(info.value)
    if status == 401:
        assert ("OPENAI_API_KEY" if provider == "openai" else "ANTHROPIC_API_KEY") in str(info.value)
    assert len(stub_llm.requests) == 1


def test_exhausted_stub_script_fails_plainly(provider, stub_llm):
    model = client(provider, stub_llm)
    with pytest.raises(ModelError, match="stub script exhausted at request 1"):
        model.complete(conversation(), TOOLS)
    assert len(stub_llm.requests) == 1


def test_malformed_tool_calls_become_observations(provider, stub_llm):
    bad_json = '{"path": "a.py", ' if provider == "openai" else "not an object"
    stub_llm.reply("1", calls=[("view_file", bad_json)])
    stub_llm.reply("2", calls=[("open_file", {"path": "a.py"})])
    stub_llm.reply("3", calls=[("view_file", {"start": "ten"})])
    stub_llm.reply("4", calls=[("view_file", {"path": "a.py", "line": 3})])
    model = client(provider, stub_llm)
    msgs = conversation()
    errors = []
    for _ in range(4):
        turn = model.complete(msgs, TOOLS)
        [call] = turn.tool_calls
        assert call.error and call.error.startswith(f"Malformed call to {call.name}:")
        errors.append(call.error)
        msgs += [turn.message, Message.tool(call, call.error, is_error=True)]
    assert ("not valid JSON" if provider == "openai" else "must be one JSON object, got a string") in errors[0]
    assert "no tool named 'open_file'; the tools are: view_file, replace_function" in errors[1]
    assert "missing required argument 'path'" in errors[2] and "'start' must be of type integer" in errors[2]
    assert "unexpected argument 'line' (known: path, start)" in errors[3]

    # the error went back as the observation, tied to the call; a malformed call is echoed verbatim
    body = stub_llm.bodies(provider)[-1]
    if provider == "openai":
        first_call = body["messages"][3]["tool_calls"][0]
        assert first_call["function"]["arguments"] == bad_json
        observation = body["messages"][4]
        assert observation["tool_call_id"] == first_call["id"] and "not valid JSON" in observation["content"]
    else:
        observation = body["messages"][2]["content"][0]
        assert observation["is_error"] is True and "JSON object" in observation["content"]


def test_usage_and_cost(provider, stub_llm):
    # 10,000 prompt tokens: 6,000 read from the cache, 2,000 written to it, 2,000 plain; 1,000 out
    stub_llm.reply("priced", usage={"input_tokens": 10_000, "output_tokens": 1_000, "cache_read_tokens": 6_000,
                                    "cache_write_tokens": 2_000 if provider == "anthropic" else 0})
    model = client(provider, stub_llm)
    turn = model.complete(conversation(), TOOLS)
    assert turn.usage.input_tokens == 10_000 and turn.usage.output_tokens == 1_000
    assert turn.usage.cache_read_tokens == 6_000
    if provider == "anthropic":  # sonnet 5.5: $2 in, $10 out, $0.10 cache read, $2.50 cache write per Mtok
        assert turn.usage.cache_write_tokens == 2_000
        assert turn.cost == pytest.approx((2_000 * 2 + 6_000 * 0.10 + 2_000 * 2.50 + 1_000 * 10) / 1e6)
    else:  # gpt-4o: $2.50 in, $1.25 cached, $10 out
        assert turn.cost == pytest.approx((4_000 * 2.5 + 6_000 * 1.25 + 1_000 * 10) / 1e6)


def test_unknown_model_has_unknown_cost_and_warns_once(provider, stub_llm, caplog):
    stub_llm.reply("a").reply("b")
    base = stub_llm.openai_url if provider == "openai" else stub_llm.anthropic_url
    model = make_model(f"{provider}:house-model-7b@{base}", api_key="k", prices=PriceTable(DEFAULT_PRICES))
    with caplog.at_level(logging.WARNING, logger="agent.models"):
        turns = [model.complete(conversation(), TOOLS) for _ in range(2)]
    assert [t.text for t in turns] == ["a", "b"]
    assert [t.cost for t in turns] == [None, None]
    assert turns[0].usage.total_tokens > 0
    warnings = [r for r in caplog.records if "house-model-7b" in r.getMessage()]
    assert len(warnings) == 1 and "unknown" in warnings[0].getMessage()


def test_anthropic_cache_breakpoints(stub_llm):
    stub_llm.reply("look", calls=[("view_file", {"path": "a.py"})]).reply("more", calls=[
        ("view_file", {"path": "b.py"})]).reply("done")
    model = client("anthropic", stub_llm)
    msgs = conversation()
    for _ in range(3):
        turn = model.complete(msgs, TOOLS)
        msgs.append(turn.message)
        if turn.tool_calls:
            msgs.append(Message.tool(turn.tool_calls[0], "contents"))
    ephemeral = {"type": "ephemeral"}
    for body in stub_llm.bodies("anthropic"):
        assert body["system"][-1]["cache_control"] == ephemeral  # the system prompt (and the tools before it)
        context = body["messages"][0]["content"][0]
        assert context["text"].startswith("Repository map") and context["cache_control"] == ephemeral
        assert "cache_control" not in body["messages"][0]["content"][1] or len(body["messages"]) == 1
        assert body["messages"][-1]["content"][-1]["cache_control"] == ephemeral  # the growing tail
        marks = json.dumps(body).count('"cache_control"')
        assert marks <= 4  # the API's limit
    later = stub_llm.bodies("anthropic")[-1]
    assert later["messages"][2]["content"][0]["type"] == "tool_result"
    assert "cache_control" not in later["messages"][2]["content"][0]  # the old tail is not marked anymore


def test_anthropic_caching_can_be_switched_off(stub_llm):
    stub_llm.reply("ok")
    client("anthropic", stub_llm, prompt_cache=False).complete(conversation(), TOOLS)
    assert "cache_control" not in json.dumps(stub_llm.bodies()[0])


def test_options_reach_the_request(provider, stub_llm):
    stub_llm.reply("ok")
    client(provider, stub_llm, temperature=0.3, max_tokens=777).complete(conversation(), [])
    body = stub_llm.bodies()[0]
    # Anthropic's current models refuse non-default sampling: the option is not sent there
    assert body.get("temperature") == (0.3 if provider == "openai" else None)
    assert "tools" not in body
    # OpenAI-compatible servers (a base URL) get the classic max_tokens; Anthropic always takes it
    assert body["max_tokens"] == 777
    assert stub_llm.requests[0].headers.get("authorization", "").endswith("test-key") \
        or stub_llm.requests[0].headers.get("x-api-key") == "test-key"


def test_openai_compatible_server_needs_no_key(stub_llm, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    stub_llm.reply("local")
    model = make_model(f"openai:qwen2.5-coder@{stub_llm.openai_url}", prices=PriceTable({}))
    assert model.spec == f"openai:qwen2.5-coder@{stub_llm.openai_url}"
    assert model.complete([Message.user("hi")]).text == "local"


def test_stub_handler_answers_when_the_script_is_empty(stub_llm):
    stub_llm.handler = lambda req: Turn(text=f"{len(req.body['messages'])} messages")
    assert client("openai", stub_llm).complete(conversation()).text == "3 messages"


def test_anthropic_thinking_blocks_go_back_verbatim(stub_llm):
    stub_llm.reply("Looking.", calls=[("view_file", {"path": "a.py"})], thinking="The bug is in add.")
    stub_llm.reply("Done.")
    model = client("anthropic", stub_llm)
    msgs = conversation()
    turn = model.complete(msgs, TOOLS)
    assert turn.text == "Looking." and turn.tool_calls[0].name == "view_file"
    assert turn.native["anthropic"][0] == {"type": "thinking", "thinking": "The bug is in add.",
                                           "signature": "stub-signature-1"}
    msgs += [turn.message, Message.tool(turn.tool_calls[0], "code")]
    assert Message.from_dict(json.loads(json.dumps(msgs[-2].to_dict()))) == msgs[-2]  # survives a checkpoint
    model.complete(msgs, TOOLS)
    echoed = stub_llm.bodies()[1]["messages"][1]["content"]
    assert [b["type"] for b in echoed] == ["thinking", "text", "tool_use"]
    assert echoed[0]["signature"] == "stub-signature-1" and echoed[2]["id"] == turn.tool_calls[0].id

"""Model specs and the provider registry, replay cassettes, price tables, retry internals and the
tool-call checks."""

from __future__ import annotations

import json
import logging
import random
from email.utils import formatdate

import pytest

import swebench_runner.oracle  # noqa: F401  (registers the `oracle` provider, as the batch runner does)
from agent.models import (
    PROVIDERS,
    Message,
    MissingAPIKey,
    ModelOptions,
    Price,
    PriceTable,
    ReplayExhausted,
    RetriesExhausted,
    RetryPolicy,
    ToolCall,
    TransientError,
    Usage,
    default_prices,
    make_model,
    register_provider,
    validate_tool_calls,
)
from agent.models.prices import DEFAULT_PRICES
from agent.models.replay import ReplayModel
from agent.models.retry import backoff_delay, call_with_retries, parse_retry_after
from sandbox.errors import UserError
from tools.registry import ToolSpec

VIEW = ToolSpec("view_file", "Show a file.", {
    "type": "object",
    "properties": {"path": {"type": "string"}, "start": {"type": "integer"},
                   "mode": {"type": "string", "enum": ["head", "tail"]},
                   "paths": {"type": "array", "items": {"type": "string"}},
                   "flag": {"type": "boolean"}},
    "required": ["path"],
})


# -- specs -------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, words", [
    ("gpt-5", "model spec 'gpt-5' is malformed: write PROVIDER:MODEL"),
    ("gemini:pro", "unknown model provider 'gemini' in 'gemini:pro'; known providers: anthropic, human, openai, oracle, relay, replay"),
    ("openai:", "model spec 'openai:' is malformed"),
    ("openai:gpt 5", "is malformed"),
    ("openai:qwen@localhost:8000", "malformed base URL 'localhost:8000': it must start with http://"),
    ("anthropic:claude@ftp://x", "malformed base URL"),
    ("replay:", "needs a cassette path"),
    ("replay:/nonexistent/cassette.jsonl", "cannot read replay cassette /nonexistent/cassette.jsonl"),
])
def test_bad_specs_are_one_line_user_errors(spec, words):
    with pytest.raises(UserError) as info:
        make_model(spec, api_key="k")
    assert words in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("spec, env", [("openai:gpt-5", "OPENAI_API_KEY"),
                                       ("anthropic:claude-sonnet-5-5", "ANTHROPIC_API_KEY"),
                                       ("anthropic:claude-sonnet-5-5@http://127.0.0.1:9", "ANTHROPIC_API_KEY")])
def test_missing_api_key_names_the_variable(spec, env, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(MissingAPIKey) as info:
        make_model(spec)
    assert str(info.value) == f"{spec} needs an API key: set {env}" + (
        " (a server named by openai:MODEL@URL needs none)" if env == "OPENAI_API_KEY" else "")
    assert isinstance(info.value, UserError)


def test_key_from_the_environment(monkeypatch, stub_llm):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env")
    stub_llm.reply("hi")
    model = make_model(f"anthropic:claude-opus-4-8@{stub_llm.anthropic_url}", timeout=12)
    assert model.spec == f"anthropic:claude-opus-4-8@{stub_llm.anthropic_url}" and model.options.timeout == 12
    assert model.complete([Message.user("hi")]).text == "hi"
    headers = stub_llm.requests[0].headers
    assert "from-env" in (headers.get("x-api-key", "") + headers.get("authorization", ""))
    model.close()


def test_spec_base_url_and_options():
    model = make_model("openai:qwen2.5-coder@http://127.0.0.1:8000/v1", max_tokens=100)
    assert (model.model, model.options.base_url, model.options.max_tokens) == (
        "qwen2.5-coder", "http://127.0.0.1:8000/v1", 100)
    with pytest.raises(ValueError, match="temprature"):
        make_model("openai:m@http://127.0.0.1:1/v1", temprature=0.2)  # a typo is a programming error


def test_a_provider_can_be_registered(monkeypatch, tmp_path):
    made = {}

    def oracle(target, *, instance=None, **options):
        made.update(target=target, instance=instance)
        cassette = tmp_path / "c.jsonl"
        cassette.write_text('{"text": "gold"}\n')
        return ReplayModel(cassette, ModelOptions(**options))

    monkeypatch.setitem(PROVIDERS, "oracle", oracle)
    model = make_model("oracle", instance="sympy-1")
    assert made == {"target": "", "instance": "sympy-1"}
    assert model.complete([Message.user("x")]).text == "gold"
    register_provider("oracle", oracle)  # the public way; monkeypatch restores the registry afterwards
    assert PROVIDERS["oracle"] is oracle


# -- replay ------------------------------------------------------------------------------------
def cassette(tmp_path, *lines) -> str:
    path = tmp_path / "run.jsonl"
    path.write_text("\n".join(json.dumps(x) if not isinstance(x, str) else x for x in lines) + "\n")
    return str(path)


def test_replay_plays_turns_then_says_it_ran_out(tmp_path):
    path = cassette(tmp_path,
                    {"text": "look", "tool_calls": [{"name": "view_file", "arguments": {"path": "a.py"}}]},
                    "",
                    {"text": "done", "usage": {"input_tokens": 1000, "output_tokens": 10}, "cost": 0.25})
    model = make_model(f"replay:{path}")
    first = model.complete([Message.user("go")], [VIEW])
    assert first.text == "look" and first.tool_calls == [ToolCall("replay-1-0", "view_file", {"path": "a.py"})]
    assert first.cost == 0.0 and first.stop_reason == "tool_use"
    second = model.complete([Message.user("go")], [VIEW])
    assert second.usage == Usage(1000, 10) and second.cost == 0.25
    with pytest.raises(ReplayExhausted) as info:
        model.complete([Message.user("go")], [VIEW])
    assert str(info.value) == (f"replay:{path}: the cassette's 2 turn(s) are all played and the run asked for "
                               "turn 3; record more turns or lower the step budget")


def test_replay_malformed_calls_are_checked_like_any_other(tmp_path):
    path = cassette(tmp_path, {"tool_calls": [{"name": "view_file", "arguments": '{"path": "a.py"'},
                                              {"name": "view_file", "arguments": {"start": 1}, "id": "mine"},
                                              {"name": "edit", "arguments": {}}]})
    calls = make_model(f"replay:{path}").complete([Message.user("go")], [VIEW]).tool_calls
    assert "not valid JSON" in calls[0].error and calls[0].raw_arguments == '{"path": "a.py"'
    assert calls[1].id == "mine" and "missing required argument 'path'" in calls[1].error
    assert "no tool named 'edit'" in calls[2].error


@pytest.mark.parametrize("line, words", [("{not json", "line 2 is malformed"),
                                          ('{"txt": "typo"}', "line 2 is malformed: Extra inputs"),
                                          ('{"tool_calls": [{"arguments": {}}]}', "line 2 is malformed: Field required")])
def test_replay_malformed_cassette_names_the_line(tmp_path, line, words):
    path = cassette(tmp_path, {"text": "fine"}, line)
    with pytest.raises(UserError, match=words):
        make_model(f"replay:{path}")


# -- prices ------------------------------------------------------------------------------------
def test_price_lookup_exact_then_longest_prefix():
    table = PriceTable(DEFAULT_PRICES)
    assert table.lookup("claude-sonnet-4-5-20250929") == DEFAULT_PRICES["claude-sonnet-4-5"]
    assert table.lookup("gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["gpt-4o-mini"]
    assert table.lookup("gpt-5.4-mini") == DEFAULT_PRICES["gpt-5.4-mini"]
    assert table.lookup("gpt-5.9") is None  # not a "gpt-5-" snapshot
    assert table.lookup("llama-3") is None


def test_cost_formula():
    table = PriceTable({"m": Price(input=2.0, output=8.0, cache_read=0.5, cache_write=2.5),
                        "plain": Price(input=1.0, output=2.0)})
    u = Usage(input_tokens=1_000_000, output_tokens=500_000, cache_read_tokens=400_000, cache_write_tokens=100_000)
    assert table.cost("m", u) == pytest.approx(500_000 * 2e-6 + 400_000 * 0.5e-6 + 100_000 * 2.5e-6 + 500_000 * 8e-6)
    assert table.cost("plain", u) == pytest.approx(1.0 + 1.0)  # cache tokens at the input price


def test_user_price_file_extends_and_overrides(tmp_path, monkeypatch, caplog):
    prices = tmp_path / "prices.yaml"
    prices.write_text("house-model: {input: 1, output: 3}\ngpt-4o: {input: 100, output: 100}\n")
    monkeypatch.setenv("PATCHWRIGHT_PRICES", str(prices))
    table = default_prices()
    assert table.cost("house-model", Usage(1_000_000, 1_000_000)) == pytest.approx(4.0)
    assert table.lookup("gpt-4o").input == 100
    assert table.lookup("claude-opus-4-8") == DEFAULT_PRICES["claude-opus-4-8"]
    with caplog.at_level(logging.WARNING, logger="agent.models"):
        assert table.cost("other", Usage(1, 1)) is None
    assert "PATCHWRIGHT_PRICES" in caplog.text


def test_default_price_file_in_the_config_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("PATCHWRIGHT_PRICES", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "patchwright").mkdir()
    (tmp_path / "patchwright" / "prices.yaml").write_text("cfg-model: {input: 0, output: 0}\n")
    assert default_prices().cost("cfg-model", Usage(10, 10)) == 0.0


@pytest.mark.parametrize("name, text, words", [
    ("p.yaml", "m: {input: 1}\n", "price file .*p.yaml: m.output: Field required"),
    ("p.yaml", "m: [1, 2]\n", "p.yaml: m: Input should be a valid dictionary"),
    ("p.json", "{bad", "is not valid JSON"),
    ("p.yaml", "- a\n- b\n", "must map model names to prices"),
])
def test_malformed_price_file(tmp_path, monkeypatch, name, text, words):
    path = tmp_path / name
    path.write_text(text)
    monkeypatch.setenv("PATCHWRIGHT_PRICES", str(path))
    with pytest.raises(UserError, match=words):
        default_prices()


def test_missing_price_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PATCHWRIGHT_PRICES", str(tmp_path / "none.yaml"))
    with pytest.raises(UserError, match="cannot read price file"):
        default_prices()


# -- retry internals ---------------------------------------------------------------------------
def test_parse_retry_after():
    assert parse_retry_after({"Retry-After-Ms": "1500", "retry-after": "9"}) == 1.5  # ms wins
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after": formatdate(1_000_030, usegmt=True)}, now=1_000_000) == 30.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None and parse_retry_after(None) is None


def test_backoff_doubles_up_to_the_cap_with_jitter():
    policy = RetryPolicy(initial_delay=1, max_delay=5, jitter=0.5)
    rng = random.Random(7)
    for retry, cap in [(1, 1), (2, 2), (3, 4), (4, 5), (9, 5)]:
        for _ in range(50):
            assert cap * 0.5 <= backoff_delay(retry, policy, rng) <= cap
    assert backoff_delay(3, RetryPolicy(initial_delay=1, jitter=0)) == 4


def test_call_with_retries_bounded_by_attempts_and_total_wait():
    calls, waits = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("HTTP 503: busy")
        return "ok"

    policy = RetryPolicy(max_attempts=5, initial_delay=1, jitter=0)
    assert call_with_retries(flaky, policy, label="x", sleep=waits.append) == ("ok", 3)
    assert waits == [1, 2]

    def down():
        raise TransientError("HTTP 500: down")

    waits.clear()
    with pytest.raises(RetriesExhausted, match=r"x: gave up after 4 attempt\(s\): HTTP 500: down; waiting 8.0 s"):
        call_with_retries(down, RetryPolicy(max_attempts=10, initial_delay=1, jitter=0, max_total_wait=10),
                          label="x", sleep=waits.append)
    assert waits == [1, 2, 4]  # the next wait (8) would pass 10 s in all


# -- tool-call checks ----------------------------------------------------------------------------
def check(**arguments) -> str | None:
    [call] = validate_tool_calls([ToolCall("c1", "view_file", arguments)], [VIEW])
    return call.error


def test_well_formed_calls_pass_and_integral_floats_become_ints():
    assert check(path="a.py") is None
    [call] = validate_tool_calls([ToolCall("c1", "view_file", {"path": "a", "start": 3.0, "paths": ["x"]})], [VIEW])
    assert call.error is None and call.arguments["start"] == 3 and isinstance(call.arguments["start"], int)


@pytest.mark.parametrize("arguments, words", [
    ({}, "missing required argument 'path'"),
    ({"path": 3}, "'path' must be of type string, got an integer"),
    ({"path": "a", "start": True}, "'start' must be of type integer, got a boolean"),
    ({"path": "a", "start": 1.5}, "'start' must be of type integer, got a number"),
    ({"path": "a", "mode": "middle"}, "'mode' must be one of \"head\", \"tail\""),
    ({"path": "a", "paths": ["x", 2]}, "'paths'[1] must be of type string"),
    ({"path": "a", "flag": "yes"}, "'flag' must be of type boolean, got a string"),
    ({"path": "a", "file": "b"}, "unexpected argument 'file' (known: path, start, mode, paths, flag)"),
])
def test_schema_mismatches(arguments, words):
    error = check(**arguments)
    assert error.startswith("Malformed call to view_file: ") and error.endswith("Fix the call and try again.")
    assert words in error


def test_additional_properties_allowed_when_the_schema_says_so():
    spec = ToolSpec("run", "Run.", {"type": "object", "properties": {"cmd": {"type": "string"}},
                                    "additionalProperties": True})
    [call] = validate_tool_calls([ToolCall("c", "run", {"cmd": "ls", "env": {"A": "1"}})], [spec])
    assert call.error is None


def test_calls_when_no_tools_are_offered():
    [call] = validate_tool_calls([ToolCall("c", "view_file", {})], [])
    assert "no tools are available now" in call.error


# -- values survive a checkpoint ---------------------------------------------------------------------
def conversation_values() -> list[Message]:
    call = ToolCall("c1", "view_file", {"path": "a.py"})
    bad = ToolCall("c2", "view_file", {}, "Malformed call to view_file: ...", raw_arguments='{"path"')
    return [Message.system("sys"), Message.user("ctx", cache=True),
            Message.assistant("look", [call, bad], native={"anthropic": [{"type": "thinking", "thinking": "t",
                                                                          "signature": "s"}]}),
            Message.tool(call, "1 x = 1"), Message.tool(bad, bad.error, is_error=True)]


def test_messages_round_trip_through_dicts_and_langgraph_serde():
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    msgs = conversation_values()
    assert [Message.from_dict(json.loads(json.dumps(m.to_dict()))) for m in msgs] == msgs
    serde = JsonPlusSerializer(allowed_msgpack_modules=[("agent.models.types", "Message"),
                                                        ("agent.models.types", "ToolCall")])
    assert serde.loads_typed(serde.dumps_typed(msgs)) == msgs  # tuples come back as lists: normalized

"""A local stand-in for the OpenAI and Anthropic APIs, for tests that drive the real SDK clients.

`StubLLM` is a threaded HTTP server on 127.0.0.1 (a random port) that answers
`POST /v1/chat/completions` (the `openai` SDK; base URL `stub.openai_url`) and `POST /v1/messages`
(the `anthropic` SDK; base URL `stub.anthropic_url`) from a script of turns, in order, whichever
endpoint asks. Every request is recorded (path, headers, JSON body) for assertions.

    stub.reply("I will look", calls=[("view_file", {"path": "a.py"})])
    stub.fail(429, retry_after_ms=50)          # rate limited, then ...
    stub.reply("done")                         # ... a success
    stub.reply(calls=[("view_file", '{"path": ')])   # arguments as raw text: malformed JSON
    stub.reply("late", delay=5)                # answers after 5 s (longer than a short client timeout)
    stub.reply("slow", trickle=1, trickle_for=20)   # headers at once, then one byte a second for 20 s

When the script is empty, `stub.handler(request)` (if set) is asked for the next turn; with neither,
the stub answers 400 "stub script exhausted" (not retried by clients), so a test fails plainly.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"


@dataclass
class Request:
    """One request the stub received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def api(self) -> str:
        return "anthropic" if self.path.startswith(ANTHROPIC_PATH) else "openai"


@dataclass
class Turn:
    """One scripted answer. `calls` holds (name, arguments) pairs; arguments given as a str are sent
    verbatim (so they can be malformed JSON). `usage` keys: input_tokens (all prompt tokens, cached
    included), output_tokens, cache_read_tokens, cache_write_tokens; omitted, it is estimated from
    the request's size. `thinking` becomes a signed thinking block (Anthropic only)."""

    text: str = ""
    calls: list[tuple[str, Any]] = field(default_factory=list)
    usage: dict[str, int] | None = None
    thinking: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    message: str = ""
    delay: float = 0.0
    trickle: float = 0.0
    trickle_for: float = 30.0


class StubLLM:
    """The server. Use as a context manager or call close(); see the module docstring."""

    def __init__(self) -> None:
        self.script: list[Turn] = []
        self.requests: list[Request] = []
        self.handler: Callable[[Request], Turn | None] | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                req = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                status, headers, payload, turn = stub._answer(req)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    if turn is not None and turn.trickle:
                        stub._trickle(self.wfile, data, turn)
                    else:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass  # the client gave up (a timeout test)

            def do_GET(self):
                self.send_error(404)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="stub-llm", daemon=True)
        self._thread.start()

    # -- addresses ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_url(self) -> str:
        """The base URL for `openai.OpenAI(base_url=...)` and `openai:MODEL@URL` specs."""
        return self.url + "/v1"

    @property
    def anthropic_url(self) -> str:
        """The base URL for `anthropic.Anthropic(base_url=...)`."""
        return self.url

    # -- the script ----------------------------------------------------------------------------
    def reply(self, text: str = "", calls: list | None = None, *, usage: dict[str, int] | None = None,
              delay: float = 0.0, thinking: str = "", trickle: float = 0.0, trickle_for: float = 30.0) -> StubLLM:
        """Queue an answer: text and tool calls [(name, arguments)], optionally after `delay` seconds.
        With `trickle`, the status and headers go out at once and the body one byte every `trickle`
        seconds; after `trickle_for` seconds the stub drops the connection (a body never finished)."""
        self.script.append(Turn(text=text, calls=[tuple(c) for c in calls or []], usage=usage, delay=delay,
                                thinking=thinking, trickle=trickle, trickle_for=trickle_for))
        return self

    def fail(self, status: int, *, retry_after: float | None = None, retry_after_ms: int | None = None,
             message: str = "", delay: float = 0.0) -> StubLLM:
        """Queue an error answer (429, 500, 401, ...), with retry-after headers when given."""
        headers = {}
        if retry_after is not None:
            headers["retry-after"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        self.script.append(Turn(status=status, headers=headers, message=message or f"stub error {status}",
                                delay=delay))
        return self

    def bodies(self, api: str | None = None) -> list[dict]:
        """The JSON bodies received, optionally only those for one API ("openai" or "anthropic")."""
        with self._lock:
            return [r.body for r in self.requests if api is None or r.api == api]

    @property
    def pending(self) -> int:
        """Scripted turns not yet served."""
        with self._lock:
            return len(self.script)

    # -- serving -------------------------------------------------------------------------------
    def _trickle(self, out, data: bytes, turn: Turn) -> None:
        """Write `data` one byte at a time, `turn.trickle` seconds apart, for `turn.trickle_for` seconds."""
        end = time.monotonic() + turn.trickle_for
        for i in range(len(data)):
            if self._closing.wait(turn.trickle) or time.monotonic() >= end:
                return
            out.write(data[i:i + 1])
            out.flush()

    def _answer(self, req: Request) -> tuple[int, dict[str, str], dict, Turn | None]:
        with self._lock:
            self.requests.append(req)
            index = len(self.requests)
            turn = self.script.pop(0) if self.script else None
        if turn is None and self.handler is not None:
            turn = self.handler(req)
        if req.path not in (OPENAI_PATH, ANTHROPIC_PATH):
            return 404, {}, _error(req.api, 404, f"stub: no endpoint {req.path}"), None
        if turn is None:
            return 400, {}, _error(req.api, 400, f"stub script exhausted at request {index}"), None
        if turn.delay:
            self._closing.wait(turn.delay)
        if turn.status != 200:
            return turn.status, turn.headers, _error(req.api, turn.status, turn.message), turn
        render = _anthropic_message if req.api == "anthropic" else _openai_completion
        return 200, turn.headers, render(req, turn, index), turn

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> StubLLM:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _usage(req: Request, turn: Turn) -> dict[str, int]:
    if turn.usage is not None:
        return {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0,
                **turn.usage}
    out = len(turn.text) + sum(len(json.dumps(a)) for _, a in turn.calls)
    return {"input_tokens": len(json.dumps(req.body)) // 4 + 1, "output_tokens": out // 4 + 1,
            "cache_read_tokens": 0, "cache_write_tokens": 0}


def _openai_completion(req: Request, turn: Turn, index: int) -> dict:
    calls = [{"id": f"call_{index}_{i}", "type": "function",
              "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
             for i, (name, args) in enumerate(turn.calls)]
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if calls:
        message["tool_calls"] = calls
    u = _usage(req, turn)
    return {
        "id": f"chatcmpl-stub-{index}", "object": "chat.completion", "created": int(time.time()),
        "model": req.body.get("model", "stub"),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": u["input_tokens"], "completion_tokens": u["output_tokens"],
                  "total_tokens": u["input_tokens"] + u["output_tokens"],
                  "prompt_tokens_details": {"cached_tokens": u["cache_read_tokens"]}},
    }


def _anthropic_message(req: Request, turn: Turn, index: int) -> dict:
    content: list[dict] = []
    if turn.thinking:
        content.append({"type": "thinking", "thinking": turn.thinking, "signature": f"stub-signature-{index}"})
    if turn.text:
        content.append({"type": "text", "text": turn.text})
    for i, (name, args) in enumerate(turn.calls):
        content.append({"type": "tool_use", "id": f"toolu_{index}_{i}", "name": name, "input": args})
    u = _usage(req, turn)
    uncached = u["input_tokens"] - u["cache_read_tokens"] - u["cache_write_tokens"]
    return {
        "id": f"msg_stub_{index}", "type": "message", "role": "assistant",
        "model": req.body.get("model", "stub"), "content": content,
        "stop_reason": "tool_use" if turn.calls else "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": max(uncached, 0), "output_tokens": u["output_tokens"],
                  "cache_read_input_tokens": u["cache_read_tokens"],
                  "cache_creation_input_tokens": u["cache_write_tokens"]},
    }


def _error(api: str, status: int, message: str) -> dict:
    kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
            429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
    if api == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": None}}

"""A stand-in for the program on the other side of `relay:DIR`: a thread that polls DIR/status.json,
reads each waiting turn's request, and writes its reply to a temporary name, then renames it.

It records every turn it answered and every turn it was asked again without a rejection in
between (`asked_twice`), which must stay empty: an answered turn is never asked again.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

Answer = Callable[[dict[str, Any], str], dict[str, Any] | str]
"""answer(request, markdown) -> the reply (an object, or raw text to write as is)."""


class Answerer(threading.Thread):
    def __init__(self, root: Path, answer: Answer, poll: float = 0.05):
        super().__init__(daemon=True)
        self.root = Path(root)
        self.answer = answer
        self.poll = poll
        self.answered: Counter = Counter()
        """(instance, turn) -> replies written."""
        self.asked_twice: list[tuple[str | None, int]] = []
        self.markdown: dict[tuple[str | None, int], str] = {}
        self.failures: list[str] = []
        self._done = threading.Event()

    def stop(self) -> None:
        self._done.set()
        self.join(10)

    def __enter__(self) -> Answerer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def run(self) -> None:
        while not self._done.is_set():
            try:
                status = json.loads((self.root / "status.json").read_text())
            except (OSError, ValueError):
                status = {}
            for entry in status.get("waiting", []):
                try:
                    self._answer(entry)
                except Exception as exc:  # the test reads this list
                    self.failures.append(f"{type(exc).__name__}: {exc}")
            time.sleep(self.poll)

    def _answer(self, entry: dict[str, Any]) -> None:
        reply = self.root / entry["reply"]
        if reply.exists():
            return
        key = (entry.get("instance"), entry["turn"])
        if self.answered[key] and not entry.get("error"):
            self.asked_twice.append(key)
        request = json.loads((self.root / entry["request"]).read_text())
        markdown = (self.root / entry["markdown"]).read_text()
        self.markdown[key] = markdown
        body = self.answer(request, markdown)
        tmp = reply.with_name(f".{reply.name}.tmp")
        tmp.write_text(body if isinstance(body, str) else json.dumps(body))
        os.replace(tmp, reply)
        self.answered[key] += 1


def edit_turns(request: dict[str, Any]) -> int:
    """How many answers the request's conversation already holds."""
    return sum(1 for m in request["messages"] if m["role"] == "assistant")


def offered(request: dict[str, Any]) -> set[str]:
    return {t["name"] for t in request["tools"]}

"""The edit loop's conversations, kept out of langgraph's checkpoints.

langgraph's SQLite saver stores the whole state after every node. With the conversation in the
state, every checkpoint would repeat every message so far: storage quadratic in the steps (40
steps of 20 KB observations: 20 MB). Instead each message is appended once to `conversation.jsonl`
in the run directory (one line: the attempt's thread, the message's index, the message), flushed
and fsynced before the node returns, and the state holds only the conversation's length. A
checkpoint then grows by what the step added, and a resumed run reads the first `length` messages of
its thread back (lines past that length, written by a step a crash cut short, are overwritten by the
step when it runs again: the last line for an index wins).

Messages are written with secrets scrubbed (agent.secrets); the in-memory copy is what the model saw.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from .models import Message
from .secrets import NO_SECRETS, Redactor

FILE = "conversation.jsonl"


class ConversationLog:
    """The conversations of one run, one per thread (attempt)."""

    def __init__(self, path: str | Path, redactor: Redactor = NO_SECRETS):
        self.path = Path(path)
        self.redactor = redactor
        self._threads: dict[str, list[Message]] | None = None
        self._file = None

    def _load(self) -> dict[str, list[Message]]:
        if self._threads is None:
            by_thread: dict[str, dict[int, dict]] = {}
            if self.path.exists():
                for line in self.path.read_text(encoding="utf-8").splitlines():
                    try:
                        rec = json.loads(line)
                        by_thread.setdefault(rec["thread"], {})[int(rec["index"])] = rec["message"]
                    except (ValueError, KeyError, TypeError):
                        continue  # a line torn by a crash
            self._threads = {}
            for thread, messages in by_thread.items():
                run = []
                while len(run) in messages:  # indices 0, 1, 2, ... without a gap
                    run.append(Message.from_dict(messages[len(run)]))
                self._threads[thread] = run
        return self._threads

    def messages(self, thread: str, length: int) -> list[Message]:
        """The first `length` messages of `thread` (a ValueError when fewer were written)."""
        have = self._load().get(thread, [])
        if len(have) < length:
            raise ValueError(f"{self.path} holds {len(have)} messages of {thread}, the state needs {length}")
        return have[:length]

    def extend(self, thread: str, at: int, new: Sequence[Message]) -> int:
        """Append `new` to the first `at` messages of `thread` (anything after them is dropped);
        returns the new length."""
        kept = self._load().setdefault(thread, [])
        del kept[at:]
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        for i, m in enumerate(new, start=at):
            rec = {"thread": thread, "index": i, "message": self.redactor.scrub_obj(m.to_dict())}
            self._file.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        kept.extend(new)
        return len(kept)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Conversation:
    """One attempt's conversation: the log bound to its thread."""

    def __init__(self, log: ConversationLog, thread: str):
        self.log, self.thread = log, thread

    def messages(self, length: int) -> list[Message]:
        return self.log.messages(self.thread, length)

    def extend(self, at: int, new: Sequence[Message]) -> int:
        return self.log.extend(self.thread, at, new)

"""`localize`: retrieval proposes files; the model picks files from their outlines, then
definitions from the picked files' skeletons. The picks become the edit loop's context."""

from __future__ import annotations

import time

from tools.toolset import TOOLS

from ..events import Localized
from ..localization import (
    SELECT_DEFINITIONS,
    SELECT_FILES,
    count_tokens,
    file_candidates,
    focus_code,
    prompt_size,
    retrieve,
    shown_count,
    skeleton_candidates,
    valid_definitions,
    valid_files,
)
from ..models import Message, ModelTurn
from ..prompting import render
from ..runtime import Attempt
from ..state import AgentState

CONTEXT_FRAME = 300
"""Tokens of a template's own words around the outlines or the code it shows."""
MIN_SHARE = 500
"""Tokens the outlines or the code get at least, even next to a very long issue."""


def _picked(turn: ModelTurn, tool: str, key: str) -> list:
    for call in turn.tool_calls:
        if call.name == tool and not call.error and isinstance(call.arguments.get(key), list):
            return call.arguments[key]
    return []


def outline_budget(cfg, system: Message, task: Message) -> int:
    """Tokens the candidate files' outlines may take in the first localization prompt."""
    left = max(cfg.prompt_tokens - prompt_size([system, task], [SELECT_FILES]) - CONTEXT_FRAME, MIN_SHARE)
    return min(cfg.outline_tokens, left)


def candidates(found, cap: int, attempt: int) -> list[str]:
    """The files shown to the model (`shown_count` of retrieval's ranking, at most `cap`), rotated
    for later attempts."""
    scores = found.file_scores()
    n = shown_count(scores, cap) if len(scores) == len(found.files) else min(cap, len(found.files))
    return _rotate(found.files[:n], attempt)


def _rotate(files: list[str], attempt: int, window: int = 5) -> list[str]:
    """Later attempts see the top files in another order (position bias varies what they pick)."""
    k = (attempt - 1) % max(min(window, len(files)), 1)
    head = files[:window]
    return head[k:] + head[:k] + files[window:]


def localize(rt: Attempt, state: AgentState) -> dict:
    cfg = rt.config
    if rt.memo.retrieval is None:
        rt.memo.retrieval = retrieve(rt.workspace, rt.issue, max(cfg.top_files, cfg.pick_files), cfg.repo_map_tokens)
    found = rt.memo.retrieval
    system = Message.system(rt.system_prompt())
    task = Message.user(render("task", issue=rt.issue, environment=rt.environment, reference=rt.reference,
                                  history=rt.history, python=rt.python))
    files: list[str] = found.files[: cfg.pick_files]
    defs: list[str] = []
    ambiguous: dict[str, int] = {}
    asked = cfg.localize and bool(found.files)
    if asked:
        files, defs, ambiguous = _ask(rt, state, system, task, candidates(found, cfg.top_files, state["attempt"]))
    # the chosen code gets what the first edit prompt has left, up to focus_tokens
    fixed = prompt_size([system, task], TOOLS.specs()) + count_tokens(found.repo_map) + CONTEXT_FRAME
    focus = focus_code(rt.ctx, defs, min(cfg.focus_tokens, max(cfg.prompt_tokens - fixed, MIN_SHARE)))
    context = render("editing", repo_map=found.repo_map, focus=focus, test_command=rt.plan.command if rt.plan else None,
                     localized={"files": files, "definitions": defs, "ambiguous": ambiguous} if asked else None)
    rt.say(Localized(files=files, definitions=defs))
    # the issue stays the first user message of every request; what the localization requests showed
    # after it (outlines, skeletons) is replaced by the context, which says so
    messages = [system, task, Message.user(context, cache=True)]
    return {"focus_files": files, "focus_defs": defs, "conversation": rt.conversation.extend(0, messages),
            **rt.spent()}


def _ask(rt: Attempt, state: AgentState, system: Message, task: Message,
         ranked: list[str]) -> tuple[list[str], list[str], dict[str, int]]:
    """Two model calls: files from outlines, then definitions from skeletons."""
    cfg, earlier = rt.config, state.get("earlier") or []
    start = time.monotonic()
    prompt = render("localization", stage="files", max_picks=cfg.pick_files, earlier=earlier, chosen=[],
                    candidates=file_candidates(rt.ctx, ranked, outline_budget(cfg, system, task)))
    msgs = [system, task, Message.user(prompt)]
    turn = rt.complete(msgs, [SELECT_FILES])
    files = valid_files(rt.ctx, _picked(turn, "select_files", "paths"), cfg.pick_files) or ranked[: cfg.pick_files]
    rt.trajectory.write("localize", messages=msgs, tools=[SELECT_FILES], turn=turn,
                        duration=round(time.monotonic() - start, 3), stage="files", candidates=ranked, chosen=files,
                        ranking=rt.memo.retrieval.ranking)
    start = time.monotonic()
    prompt = render("localization", stage="definitions", max_picks=cfg.pick_definitions, earlier=earlier,
                    candidates=skeleton_candidates(rt.ctx, files, cfg.skeleton_tokens), chosen=files)
    msgs = [system, task, Message.user(prompt)]
    turn = rt.complete(msgs, [SELECT_DEFINITIONS])
    defs, ambiguous = valid_definitions(rt.ctx, _picked(turn, "select_definitions", "names"), cfg.pick_definitions)
    if not defs:  # nothing usable: retrieval's functions in the chosen files
        defs = [f for f in rt.memo.retrieval.functions if f.split(":", 1)[0] in files][: cfg.pick_definitions]
    rt.trajectory.write("localize", messages=msgs, tools=[SELECT_DEFINITIONS], turn=turn,
                        duration=round(time.monotonic() - start, 3), stage="definitions", chosen=defs,
                        ambiguous=ambiguous)
    return files, defs, ambiguous

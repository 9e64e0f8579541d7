"""The planner graph of one attempt (a langgraph StateGraph).

    index ──► localize ──► edit ◄─┐          (edit: one model turn and its tool calls)
                             │    │ tools called
                             ├────┘
                             │ no tool call: done
                             ▼
                           test ──► review ──► submit ──► END
                             ▲         │ tests fail, budget and rounds left
                             └── edit ◄┘

Every node is a small function of (runtime, state) returning the state keys it changes. A node
that hits a budget (checked before every model call) or a model failure sets `status`, and the
graph goes straight to `submit`, which still returns the patch so far. With a checkpointer the
state is saved after every node, so a killed run continues from the last one that finished.
"""

from __future__ import annotations

from collections.abc import Callable

from langgraph.graph import END, START, StateGraph

from .budget import BudgetExhausted
from .models import ModelError
from .nodes.check import review, test
from .nodes.edit import edit
from .nodes.index import index
from .nodes.localize import localize
from .nodes.submit import submit
from .runtime import Runtime
from .state import AgentState

Node = Callable[[Runtime, AgentState], dict]


def _guard(rt: Runtime, name: str, node: Node) -> Callable[[AgentState], dict]:
    """The node bound to the runtime; a budget or model failure becomes the attempt's status."""
    def run(state: AgentState) -> dict:
        rt.tests_before = state.get("tests_before")
        rt.say("node", node=name, attempt=state.get("attempt"))
        try:
            return node(rt, state)
        except BudgetExhausted as exc:
            rt.trajectory.write(name, status=exc.status, limit=exc.limit, message=str(exc))
            return {"status": exc.status, "message": str(exc), **rt.spent()}
        except ModelError as exc:
            rt.trajectory.write(name, status="error", message=str(exc))
            return {"status": "error", "message": str(exc), **rt.spent()}
    run.__name__ = name
    return run


def _after_edit(state: AgentState) -> str:
    if state.get("status"):
        return "submit"
    return "test" if state.get("edits_done") else "edit"


def _after_review(state: AgentState) -> str:
    return "edit" if state.get("verdict") == "edit" and not state.get("status") else "submit"


def _unless_ended(next_node: str) -> Callable[[AgentState], str]:
    return lambda state: "submit" if state.get("status") else next_node


def build_graph(rt: Runtime, checkpointer=None):
    """The compiled graph of one attempt, its nodes bound to `rt`."""
    g = StateGraph(AgentState)
    for name, node in (("index", index), ("localize", localize), ("edit", edit), ("test", test),
                       ("review", review), ("submit", submit)):
        g.add_node(name, _guard(rt, name, node))
    g.add_edge(START, "index")
    g.add_conditional_edges("index", _unless_ended("localize"), ["localize", "submit"])
    g.add_conditional_edges("localize", _unless_ended("edit"), ["edit", "submit"])
    g.add_conditional_edges("edit", _after_edit, ["edit", "test", "submit"])
    g.add_edge("test", "review")
    g.add_conditional_edges("review", _after_review, ["edit", "submit"])
    g.add_edge("submit", END)
    return g.compile(checkpointer=checkpointer)

"""The planner graph of one attempt (a langgraph StateGraph).

    index ──► localize ──► edit ◄─┐          (edit: one model turn and its tool calls)
                             │    │ tools called
                             ├────┘
                             │ no tool call: done
                             ▼
                           test ──► review ──► submit ──► END
                             ▲         │ tests fail, budget and rounds left
                             └── edit ◄┘

Every node is a small function of (attempt, state) returning the state keys it changes; the attempt
(agent.runtime.Attempt) is langgraph's run context: `graph.invoke(state, config, context=attempt)`. A node
that hits a budget (checked before every model call) or a model failure sets `status`, and the
graph goes straight to `submit`, which still returns the patch so far. With a checkpointer the
state is saved after every node, so a killed run continues from the last one that finished.
"""

from __future__ import annotations

from collections.abc import Callable

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime as GraphRuntime

from .budget import BudgetExhausted
from .events import NodeStarted
from .models import ModelError
from .nodes.check import review, test
from .nodes.edit import edit
from .nodes.index import index
from .nodes.localize import localize
from .nodes.submit import submit
from .runtime import Attempt
from .state import AgentState, Status

Node = Callable[[Attempt, AgentState], dict]


def _guard(name: str, node: Node) -> Callable[[AgentState, GraphRuntime[Attempt]], dict]:
    """The node given the run's attempt; a budget or model failure becomes the attempt's status."""
    def run(state: AgentState, runtime: GraphRuntime[Attempt]) -> dict:
        rt = runtime.context
        rt.say(NodeStarted(node=name, attempt=state.get("attempt")))
        try:
            return node(rt, state)
        except BudgetExhausted as exc:
            rt.trajectory.write(name, status=exc.status, limit=exc.limit, message=str(exc))
            return {"status": exc.status, "message": str(exc), **rt.spent()}
        except ModelError as exc:
            rt.trajectory.write(name, status=Status.ERROR.value, message=str(exc))
            return {"status": Status.ERROR.value, "message": str(exc), **rt.spent()}
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


def build_graph(checkpointer=None):
    """The compiled graph of an attempt; invoke it with the attempt as context."""
    g = StateGraph(AgentState, context_schema=Attempt)
    for name, node in (("index", index), ("localize", localize), ("edit", edit), ("test", test),
                       ("review", review), ("submit", submit)):
        g.add_node(name, _guard(name, node))
    g.add_edge(START, "index")
    g.add_conditional_edges("index", _unless_ended("localize"), ["localize", "submit"])
    g.add_conditional_edges("localize", _unless_ended("edit"), ["edit", "submit"])
    g.add_conditional_edges("edit", _after_edit, ["edit", "test", "submit"])
    g.add_edge("test", "review")
    g.add_conditional_edges("review", _after_review, ["edit", "submit"])
    g.add_edge("submit", END)
    return g.compile(checkpointer=checkpointer)

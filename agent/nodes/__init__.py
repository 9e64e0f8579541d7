"""The graph's nodes: each is `node(rt: Attempt, state: AgentState) -> dict` of the state keys it
changes (see agent/graph.py for how they connect)."""

"""The agent: the planner graph, model clients, budgets and trajectories."""

"""Datasets and batch runs of the agent over them, then evaluation through the harness; the `oracle`
model (oracle.py) and the derivation of its tool calls from a gold patch (derive.py)."""

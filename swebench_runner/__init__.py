"""Datasets and batch runs of the agent over them, then evaluation through the harness."""

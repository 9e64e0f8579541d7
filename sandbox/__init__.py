"""Where code runs: workspaces (Docker, local), base images, git, diffs, test runs with their log
parsers, and the errors a user can cause. Knows nothing of SWE-bench, the agent or its tools."""

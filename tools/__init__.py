"""What the agent can do: each tool a plain function with a JSON schema, running against a Workspace."""

"""Where code runs and is judged: workspaces, images, patches, tests, grading, reports."""

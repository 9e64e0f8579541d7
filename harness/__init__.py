"""SWE-bench: instances, environment specs, instance image layers, grading, evaluation, reports and
the built-in suite. Stands on `sandbox/` only."""

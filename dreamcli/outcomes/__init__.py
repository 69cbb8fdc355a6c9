"""Outcomes (docs/outcomes.md): specs, deterministic checks, the grader, reports and the grade store."""

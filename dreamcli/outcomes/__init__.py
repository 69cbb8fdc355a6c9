"""Outcomes (Contract 3): specs, deterministic checks, the grader, reports and the grade store."""

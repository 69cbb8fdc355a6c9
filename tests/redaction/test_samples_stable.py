"""The redaction samples (tests/redaction/support.py) keep their values when another sample is added,
removed or moved, or when a test file draws values of its own: each sample has a seed of its own."""

from __future__ import annotations

import ast
import inspect

from tests.redaction import support
from tests.redaction.support import rand


def test_a_seeded_value_does_not_depend_on_what_was_drawn_before() -> None:
    first = rand(40, seed="SOME_SAMPLE")
    rand(500)  # what a test file draws for itself
    rand(64, seed="ANOTHER_SAMPLE")  # a sample inserted before
    assert rand(40, seed="SOME_SAMPLE") == first
    assert rand(40, seed="SOME_SAMPLE/2") != first  # a second part of one sample: another seed


def test_every_sample_of_support_has_its_own_seed() -> None:
    seeds: list[str] = []
    for node in ast.walk(ast.parse(inspect.getsource(support))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "rand":
            seed = next((k.value for k in node.keywords if k.arg == "seed"), None)
            assert isinstance(seed, ast.Constant), f"line {node.lineno}: give this sample seed='ITS_NAME'"
            seeds.append(seed.value)
    assert seeds and len(seeds) == len(set(seeds)), sorted(s for s in seeds if seeds.count(s) > 1)

"""A house rule found by fuzzing: JSON read from a file, a log or a model's answer may be nested deeper than
the decoders can read, and both `json` and msgspec then raise RecursionError, not ValueError. Every
`json.loads`/`json.load`/`codec.loads` in the product sits in a `try` that handles RecursionError too (or
catches everything), unless it decodes what the product itself just encoded."""

from __future__ import annotations

import ast

from tests.support.paths import REPO

# path: why this call may let RecursionError through
EXEMPT = {
    "dreamcli/dream/engine.py": "dream_summary: json.loads of a json.dumps made on the line before",
    "dreamcli/dream/proposal.py": "read_proposal: a helper for tests reading a proposal the dream just wrote",
    "dreamcli/jsontext.py": "inside contextlib.suppress(ValueError, RecursionError), which ast does not see as a try",
    "dreamcli/sessions/samples.py": "the bundled samples' mtimes file, written by the product when it copies them",
}


def unguarded() -> list[str]:
    found = []
    for path in sorted((REPO / "dreamcli").rglob("*.py")):
        if "testing" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("loads", "load") and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("json", "codec")):
                continue
            handled: list[str] = []
            child = node
            while child in parents:
                parent = parents[child]
                if isinstance(parent, ast.Try) and child in parent.body:
                    handled = [ast.unparse(h.type) if h.type else "" for h in parent.handlers]
                    break
                child = parent
            if not any("RecursionError" in h or h in ("", "Exception", "BaseException") for h in handled):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_every_json_reader_handles_nesting_it_cannot_read() -> None:
    left = [site for site in unguarded() if site.split(":")[0] not in EXEMPT]
    assert left == [], "a JSON read that lets RecursionError through (catch it with ValueError)"


def test_the_exemptions_are_still_needed() -> None:
    files = {site.split(":")[0] for site in unguarded()}
    assert set(EXEMPT) <= files, set(EXEMPT) - files

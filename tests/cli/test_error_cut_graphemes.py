"""The `error:` line quotes a long value as its two ends, cut between whole graphemes and whole escapes
(issue: a family emoji quoted by `repr` was cut in the middle of an escape, `👩\\u20…200d👧`)."""

from __future__ import annotations

from dreamcli.cli.root import shortened

FAMILY = "👨‍👩‍👧‍👦"


def test_a_long_quoted_value_is_cut_between_whole_graphemes_and_escapes() -> None:
    value = FAMILY * 40
    out = shortened(f"no session matches {value!r} in /ws", [value])
    head, _, tail = out.split("'")[1].partition("…")
    assert head and head.replace(FAMILY, "") == "", ascii(head)
    assert tail.endswith(" (880 characters)") and tail.removesuffix(" (880 characters)").replace(FAMILY, "") == ""

"""Issue 20: every document in docs/ is linked from the README (users find docs from there)."""

from __future__ import annotations

from tests.support.paths import REPO


def test_every_doc_is_linked_from_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in sorted((REPO / "docs").glob("*.md")) if f"(docs/{p.name})" not in readme]
    assert not missing, missing


def test_the_tour_and_glossary_exist() -> None:
    glossary = (REPO / "docs" / "glossary.md").read_text(encoding="utf-8")
    for word in ("Workspace", "Session", "Episode", "Playbook", "Entry", "Proposal", "Dream", "Outcome spec",
                 "Pilot"):
        assert f"**{word}" in glossary, word
    assert "ten-minute" in (REPO / "docs" / "tour.md").read_text(encoding="utf-8")

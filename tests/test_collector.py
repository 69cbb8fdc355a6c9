"""dreamcli.collector: freezing the collector around a long pass, and never unfreezing what it did not freeze.

The collector's state is the process's: each case runs in a fresh interpreter, so no other test's threads
or unfinished generators can freeze or unfreeze under it."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(code: str) -> None:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]


def test_frozen_freezes_for_the_block_and_unfreezes_after_even_on_failure() -> None:
    run("""
        import gc
        from dreamcli.collector import frozen
        assert gc.get_freeze_count() == 0
        with frozen():
            assert gc.get_freeze_count() > 0
            with frozen():  # nested: the outer block unfreezes
                pass
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0
        try:
            with frozen():
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert gc.get_freeze_count() == 0
        """)


def test_objects_someone_else_froze_stay_frozen() -> None:
    run("""
        import gc
        from dreamcli.collector import frozen
        gc.freeze()
        before = gc.get_freeze_count()
        with frozen():
            pass
        assert gc.get_freeze_count() >= before > 0
        """)


def test_a_dream_runs_frozen_and_gives_back_what_it_froze_even_when_it_fails() -> None:
    run("""
        import gc, tempfile
        from pathlib import Path
        from dreamcli.config import Config
        from dreamcli.dream import stages
        from dreamcli.dream.engine import DreamOptions, run_dream
        from dreamcli.workspace.home import Workspace

        seen = []
        def spy(*a, **kw):
            seen.append(gc.get_freeze_count())
            raise OSError("disk gone")

        stages.scan_files = spy
        ws = Workspace(root=Path(tempfile.mkdtemp()) / "ws", source="option")
        (ws.sessions_dir / "2026" / "10" / "01").mkdir(parents=True)
        (ws.sessions_dir / "2026" / "10" / "01" / "01K6E2A9Z0000000000000000A.jsonl").write_text("{}\\n")
        try:
            run_dream(ws, Config(), DreamOptions(offline=True, all=True))
        except OSError:
            pass
        assert seen and seen[0] > 0, seen
        assert gc.get_freeze_count() == 0
        """)

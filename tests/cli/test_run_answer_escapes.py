"""`dreamcli run`'s answer on stdout, piped (`| tee answer.txt`), keeps no terminal sequence the model
wrote: a clear-screen or window-title sequence in a file would act on whichever terminal later shows it.
Its words, newlines and tabs are kept as they are."""

from __future__ import annotations

from pathlib import Path

from dreamcli.testing import FakeAnthropic, text_reply
from tests.support.run import invoke_run

ANSWER = "Done.\x1b[2J\x1b]0;OWNED\x07\n\tSection 9.2: 30 days.\n契約書 résumé"


def test_the_piped_answer_shows_escapes_as_text(fake_anthropic: FakeAnthropic, home: Path, tmp_path: Path) -> None:
    fake_anthropic.expect(text_reply(ANSWER))
    proc = invoke_run(["-p", "review", "-C", str(tmp_path), "--quiet"], home)
    assert proc.exit_code == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert proc.stdout == "Done.\\x1b[2J\\x1b]0;OWNED\\x07\n\tSection 9.2: 30 days.\n契約書 résumé\n"

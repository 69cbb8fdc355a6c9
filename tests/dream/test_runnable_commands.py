"""The command an entry recommends can be run (review-dream defect 7): only the documents that vary between
sessions become FILE.ext, never the program run (the first word of a command) nor the script an
interpreter runs, and a dotted module name (`django.db.utils.ProgrammingError`) is not a file name."""

from __future__ import annotations

import pytest

from dreamcli.dream.text import error_template, generic_display, mask, targets
from dreamcli.workspace.home import Workspace
from tests.dream.raw_log import RawSession, dream, entry_texts

pytestmark = pytest.mark.usefixtures("no_model")


def _generic(command: str, failed: str | None = None) -> str:
    return generic_display(command, targets("bash", {"command": failed or command}))


@pytest.mark.parametrize(("command", "shown"), [
    ("python manage.py migrate --fake-initial", "python manage.py migrate --fake-initial"),
    ("./ci/check.sh --skip-lint", "./ci/check.sh --skip-lint"),
    ("bash scripts/deploy.sh --dry-run", "bash scripts/deploy.sh --dry-run"),
    ("node build.js --minify", "node build.js --minify"),
    ("cd app && PGPASSFILE=~/.pgpass python3 -u load.py exports/jan.csv", "cd app && PGPASSFILE=~/.pgpass python3 -u "
     "load.py exports/FILE.csv"),
])
def test_the_program_and_its_script_stay(command: str, shown: str) -> None:
    assert _generic(command) == shown


def test_the_documents_still_become_generic() -> None:
    assert _generic("python manage.py loaddata fixtures/users.json") == "python manage.py loaddata fixtures/FILE.json"
    assert _generic("unzip -p msa-x.docx | sed -e 's/<[^>]*>//g'") == "unzip -p FILE.docx | sed -e 's/<[^>]*>//g'"
    assert _generic("python -m pytest tests/test_upload.py") == "python -m pytest tests/FILE.py"  # a module runs


def test_dotted_module_names_are_not_files() -> None:
    assert mask("django.db.utils.ProgrammingError: relation \"auth_user\" already exists") == \
        "django.db.utils.ProgrammingError: relation <q> already exists"
    assert error_template("Traceback (most recent call last):\n  File \"x.py\"\nrequests.exceptions.SSLError: "
                          "certificate verify failed") == "requests.exceptions.SSLError: certificate verify failed"
    # file names keep being masked, dotted or compressed ones included
    assert mask("cannot read app.min.js or ~/.config/tool.yaml or utils.py.") == \
        "cannot read <file.js> or <file.yaml> or <file.py>."


def test_the_migration_fix_reads_as_the_commands_that_were_run(ws: Workspace) -> None:
    for hour in range(3):
        s = RawSession(ws, hour, task="build-log-triage", prompt="run the checks")
        s.call("bash", {"command": "python manage.py migrate"},
               'django.db.utils.ProgrammingError: relation "auth_user" already exists', error=True)
        s.call("bash", {"command": "python manage.py migrate --fake-initial"}, "Operations to perform: ... OK",
               said="The tables already exist; --fake-initial marks the initial migration as applied.")
        s.say("ok")
        s.end()

    texts = entry_texts(dream(ws))

    assert len(texts) == 1, texts
    assert "When `python manage.py migrate` fails" in texts[0]
    assert "django.db.utils.ProgrammingError" in texts[0]
    assert "run `python manage.py migrate --fake-initial` instead" in texts[0]
    assert "FILE" not in texts[0]


def test_a_script_retried_with_a_flag_keeps_its_name(ws: Workspace) -> None:
    for hour in range(3):
        s = RawSession(ws, hour, task="build-log-triage", prompt="triage")
        s.call("bash", {"command": "./ci/check.sh"}, "CHECK FAILED: lint step", error=True)
        s.call("bash", {"command": "./ci/check.sh --skip-lint"}, "ok")
        s.say("ok")
        s.end()

    texts = entry_texts(dream(ws))

    assert len(texts) == 1 and "retry as `./ci/check.sh --skip-lint`" in texts[0], texts

"""The one-off sessions among the bundled samples (`dreamcli.testing.sample_stories`): an error, a fix
or a request that happens once, in tasks of their own, and must not become a playbook entry."""

from __future__ import annotations

from collections.abc import Callable

from dreamcli.testing.synthetic.session import SimSession


def _refunds(s: SimSession) -> None:
    s.call("read", {"file_path": "policy.md"}, "# Refund policy\nRefunds within 30 days with a receipt. "
           "Final-sale items are not refundable. Orders over $500 go to a supervisor.")
    s.call("write", {"file_path": "decisions.json", "content": '{"decisions": [{"ticket": "T-1001"'},
           "wrote decisions.json")
    s.call("bash", {"command": "python -m json.tool decisions.json"},
           "Expecting ',' delimiter: line 1 column 37 (char 36)\n[exit code 1]", error="exit_nonzero", exit_code=1)
    s.call("write", {"file_path": "decisions.json", "content": '{"decisions": [{"ticket": "T-1001", '
                     '"decision": "approve"}]}'}, "wrote decisions.json")
    s.assistant("decisions.json covers all six tickets.")


def _release_notes(s: SimSession) -> None:
    s.call("bash", {"command": "git log --oneline v2.3.0..HEAD"},
           "fatal: ambiguous argument 'v2.3.0..HEAD': unknown revision or path not in the working tree.\n"
           "[exit code 128]", error="exit_nonzero", exit_code=128)
    s.call("bash", {"command": "git tag --list 'v2.3*'"}, "v2.3.0-rc1\nv2.3.1", exit_code=0)
    s.call("bash", {"command": "git log --oneline v2.3.1..HEAD"},
           "9f2c1ab Retry webhook delivery with backoff\n41d07e3 Show refund status on the order page", exit_code=0)
    s.call("write", {"file_path": "RELEASE_NOTES.md", "content": "## 2.4.0\n- Webhook deliveries retry with "
                     "backoff.\n- The order page shows refund status.\n"}, "wrote RELEASE_NOTES.md")
    s.user("Mention the refund-status change first; support asked for it.")
    s.assistant("Done: the refund-status change now leads the 2.4.0 notes.")


def _metrics(s: SimSession) -> None:
    s.call("bash", {"command": "python scripts/weekly_metrics.py exports/orders-2026-w41.csv"},
           "Traceback (most recent call last):\n  File \"scripts/weekly_metrics.py\", line 3, in <module>\n"
           "    import pandas as pd\nModuleNotFoundError: No module named 'pandas'\n[exit code 1]",
           error="exit_nonzero", exit_code=1)
    s.call("edit", {"file_path": "scripts/weekly_metrics.py", "old_string": "import pandas as pd",
                    "new_string": "import csv"}, "edited scripts/weekly_metrics.py")
    s.call("bash", {"command": "python scripts/weekly_metrics.py exports/orders-2026-w41.csv"},
           "orders: 1,284  refunds: 37 (2.9%)  median basket: $48.20", exit_code=0)
    s.assistant("Week 41: 1,284 orders, 37 refunds (2.9 %), median basket $48.20.")


def _supplier_email(s: SimSession) -> None:
    s.call("read", {"file_path": "thread.txt"}, "From: Oakridge Supplies\nSubject: Q4 delivery dates\nWe expect "
           "the November shipment to leave our warehouse on the 18th, one week later than planned.")
    s.call("write", {"file_path": "reply.md", "content": "Thanks for the notice. Please confirm the new date in "
                     "writing and tell us if any line items are affected."}, "wrote reply.md")
    s.user("Keep it friendlier, they have been a good supplier for years.")
    s.assistant("Softened the reply and thanked them for the early warning.")


def _migration(s: SimSession) -> None:
    s.call("bash", {"command": "alembic upgrade head"},
           "sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection to server at \"localhost\" "
           "(127.0.0.1), port 5432 failed: Connection refused\n[exit code 1]", error="exit_nonzero", exit_code=1)
    s.call("bash", {"command": "docker compose up -d db && sleep 3 && alembic upgrade head"},
           "Container shop-db-1  Started\nINFO  [alembic.runtime.migration] Running upgrade 3b1f -> 9c2e, add "
           "refund_status to orders", exit_code=0)
    s.assistant("The migration ran once the local database container was up.")


ONE_OFFS: list[tuple[str, str, Callable[[SimSession], None]]] = [
    ("refund-policy", "Decide the refund tickets in tickets/ by policy.md.", _refunds),
    ("release-notes", "Draft the 2.4.0 release notes from the commits since the last release.", _release_notes),
    ("weekly-metrics", "Compute last week's order metrics from exports/.", _metrics),
    ("supplier-email", "Draft a reply to the supplier's message in thread.txt.", _supplier_email),
    ("db-migration", "Apply the pending database migration locally.", _migration),
]

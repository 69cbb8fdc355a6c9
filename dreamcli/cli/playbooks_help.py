"""The examples of `dreamcli playbooks diff/approve/reject/edit/revert --help` (dreamcli/cli/playbooks_review.py).

Each block starts with click's `\\b` so it is shown as written: an example is never rewrapped mid-command
(tests/cli/test_help_examples.py renders every command's help at 80 columns)."""

DIFF_EPILOG = """Examples:

\b
  dreamcli playbooks diff
  dreamcli playbooks diff 01JD3Z --json
  dreamcli playbooks diff --html review.html --with-transcripts
"""

APPROVE_EPILOG = """Examples:

\b
  dreamcli playbooks approve 01JD3Z --entry pb-3f9k2xab --yes
  dreamcli playbooks approve 01JD3Z --entry pb-3f9k2xab \\
      --edit-text "Cite by section." --yes
  dreamcli playbooks approve --all --yes
"""

REJECT_EPILOG = """Examples:

\b
  dreamcli playbooks reject 01JD3Z --entry pb-8m2k4q1z \\
      --reason "contradicts the refund policy" --yes
  dreamcli playbooks reject 01JD3Z --all --reason "off policy" --yes
"""

EDIT_EPILOG = """Examples:

\b
  dreamcli playbooks edit 01JD3Z pb-3f9k2xab --text "Cite by section."
  dreamcli playbooks edit 01JD3Z pb-3f9k2xab --editor
"""

REVERT_EPILOG = """Examples:

\b
  dreamcli playbooks revert legal 3 --yes
  dreamcli playbooks revert legal 0 --yes   undo the first approval
"""

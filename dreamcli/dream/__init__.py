"""Dreaming: review past sessions, extract what recurs, and propose playbook and memory changes with
their evidence (never live until a person approves them).

    from dreamcli.dream.engine import DreamOptions, run_dream
    from dreamcli.playbooks.lint import lint_entry_text  # the entry-text rules live with playbooks
"""

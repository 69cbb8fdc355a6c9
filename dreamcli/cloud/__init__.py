"""`dreamcli cloud`: the local review desk for Claude Managed Agents (docs/managed-agents.md).

Cloud sessions are pulled into ordinary session logs, memory stores are mirrored into the workspace,
approved playbook content is pushed back with content-hash preconditions, and cloud dreams become
ordinary local proposals. Every SDK call goes through `dreamcli.sdk_beta`; modules here import each
other directly, never through this file.
"""

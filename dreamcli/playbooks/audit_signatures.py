"""The signature check of `playbooks audit --verify`, when config `audit.allowed_signers` is set
(docs/audit.md, "Signing").

Every chained record that carries `sig` must verify (`ssh-keygen -Y verify`). A chained record without
one fails too when it comes after a record that has one: signing was on, so its signature was removed,
or the record was added by someone without the key. The chain alone cannot tell a trail stripped of
every signature from one that was never signed, so `--signed-from LINE` (kept outside the workspace,
as CI's command line) also requires a signature on every chained record from line LINE on. Lines from
before the chain are never required: no dreamcli signed them.
"""

from __future__ import annotations

from typing import Any

from dreamcli.audit_chain import parse_line, signing_payload


def check_signatures(lines: list[bytes], chained: list[int], allowed: str,
                     signed_from: int | None = None) -> dict[str, Any]:
    """`{checked, valid, invalid, unsigned, signers, unsigned_after_signed, signed_from, unsigned_required}`
    for the chained lines at `chained` (indexes into `lines`, in order). An unsigned line is listed once:
    in `unsigned_after_signed` when a signed record comes before it, else in `unsigned_required` when it
    is at or after `signed_from`."""
    from dreamcli.sshsig import verify

    out: dict[str, Any] = {"checked": 0, "valid": 0, "invalid": [], "unsigned": 0, "signers": [],
                           "unsigned_after_signed": [], "signed_from": signed_from, "unsigned_required": []}
    first_signed: int | None = None  # the line of the first chained record that has a `sig`
    for i in chained:
        n = i + 1
        rec = parse_line(lines[i])
        if rec is None or "sig" not in rec:
            out["unsigned"] += 1
            if first_signed is not None:
                out["unsigned_after_signed"].append({"line": n, "reason": (
                    f"not signed, but line {first_signed} before it is: its signature was removed, or it was "
                    "added without the signing key")})
            elif signed_from is not None and n >= signed_from:
                out["unsigned_required"].append({"line": n, "reason": (
                    f"not signed, but --signed-from {signed_from} requires a signature on every record from "
                    f"line {signed_from} on")})
            continue
        if first_signed is None:
            first_signed = n
        out["checked"] += 1
        good, principal, why = verify(signing_payload(rec), rec.get("sig"), allowed)
        if good:
            out["valid"] += 1
            if principal and principal not in out["signers"]:
                out["signers"].append(principal)
        else:
            out["invalid"].append({"line": n, "reason": why, "principal": principal})
    return out


def signature_problems(signatures: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every line the signature check failed (`{line, reason, ...}`), in the order of the trail."""
    if not signatures:
        return []
    found = [*signatures["invalid"], *signatures.get("unsigned_after_signed", []),
             *signatures.get("unsigned_required", [])]
    return sorted(found, key=lambda p: p["line"])


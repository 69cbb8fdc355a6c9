"""Signing audit records with an SSH key, as git does (`ssh-keygen -Y sign` / `-Y verify`).

Config (docs/audit.md): `audit.signing_key` (a private key file; its agent or an unencrypted key, as
nothing prompts) signs every audit record this workspace writes; `audit.allowed_signers` (the
ssh-keygen ALLOWED SIGNERS format) lets `playbooks audit --verify` check them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

NAMESPACE = "dreamcli-audit"
TIMEOUT_S = 30


def available() -> bool:
    return shutil.which("ssh-keygen") is not None


def _keygen() -> str:
    exe = shutil.which("ssh-keygen")
    if exe is None:
        raise OSError("ssh-keygen is not installed")
    return exe


def sign(payload: bytes, key: str) -> dict[str, Any]:
    """{"format": "ssh", "namespace", "signature"} or, when signing fails, {"format", "error"}."""
    try:
        proc = subprocess.run([_keygen(), "-Y", "sign", "-q", "-f", os.path.expanduser(key), "-n", NAMESPACE],
                              input=payload, capture_output=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        return {"format": "ssh", "error": str(e)}
    if proc.returncode != 0 or b"BEGIN SSH SIGNATURE" not in proc.stdout:
        why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return {"format": "ssh", "error": why[-1] if why else f"ssh-keygen exit {proc.returncode}"}
    return {"format": "ssh", "namespace": NAMESPACE, "signature": proc.stdout.decode("ascii")}


def verify(payload: bytes, sig: Any, allowed_signers: str) -> tuple[bool, str | None, str]:
    """(valid, principal, why) for one record's `sig`."""
    if not isinstance(sig, dict) or not isinstance(sig.get("signature"), str):
        why = sig.get("error") if isinstance(sig, dict) and sig.get("error") else "malformed signature"
        return False, None, f"not signed: {why}"
    allowed = os.path.expanduser(allowed_signers)
    with tempfile.TemporaryDirectory(prefix="dreamcli-sig-") as tmp:
        sig_file = Path(tmp) / "record.sig"
        sig_file.write_text(sig["signature"], encoding="ascii")
        try:
            found = subprocess.run([_keygen(), "-Y", "find-principals", "-s", str(sig_file), "-f", allowed],
                                   capture_output=True, timeout=TIMEOUT_S, check=False)
            principals = found.stdout.decode("utf-8", "replace").split()
            if found.returncode != 0 or not principals:
                return False, None, "no allowed signer has this key"
            principal = principals[0]
            proc = subprocess.run([_keygen(), "-Y", "verify", "-f", allowed, "-I", principal, "-n",
                                   str(sig.get("namespace") or NAMESPACE), "-s", str(sig_file)],
                                  input=payload, capture_output=True, timeout=TIMEOUT_S, check=False)
        except (OSError, subprocess.SubprocessError) as e:
            return False, None, str(e)
    if proc.returncode != 0:
        return False, principal, "signature does not match the record"
    return True, principal, "good signature"

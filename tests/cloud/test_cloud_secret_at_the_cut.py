"""A cloud path, id or memory text in an error is cut to 80 characters for the line; redacted whole
first, so a secret that straddles the cut is never left half in the message (a cut token no longer
matches its rule). Covers a refused cloud dream (stderr, `dream.json`, `report.md`), a pull and a push."""

from __future__ import annotations

import json

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.cloud.approved import Wanted
from dreamcli.cloud.memory_push import check_wanted
from dreamcli.errors import UsageError
from dreamcli.redaction import default_redactor
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

TOKEN = "ghp_" + "A1b2C3d4E5" * 3 + "F6g7H8"  # a GitHub token: 36 characters after ghp_
BODY = TOKEN[4:10]  # any piece of its secret part
AT_THE_CUT = "/" + "x" * 48 + "/../" + TOKEN + ".md"  # quoted, the cut at 80 falls inside the token


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def test_the_cut_falls_inside_the_token() -> None:
    """The premise: cut first, the rules miss what is left of the token."""
    from dreamcli.cloud.state import shown

    assert BODY in default_redactor().redact_text(shown(AT_THE_CUT))


def test_a_refused_cloud_dream_keeps_no_piece_of_a_secret_in_its_path(fake_anthropic: FakeAnthropic,
                                                                      ws: Workspace) -> None:
    d = data(fake_anthropic)
    store = d.add_store(memories={"/notes/style.md": "x\n"})
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(writes={AT_THE_CUT: "out\n"})

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 2, result.stderr
    assert "not a file path inside the mirror" in result.stderr and BODY not in result.stderr, result.stderr
    [local] = [p for p in ws.dreams_dir.iterdir() if not p.name.startswith(".")]
    refused = json.loads((local / "dream.json").read_text())["cloud"]["refused"]
    assert "[REDACTED" in refused and "/../" in refused, refused
    for name in ("dream.json", "report.md", "proposal.json"):
        assert BODY not in (local / name).read_text(), name


def _raw_memory(server: FakeAnthropic, store: str, memory_id: str, path: str) -> None:
    """A memory as the API may list it, its id and path unchecked."""
    mem = dict(data(server).write_memory(store, f"/tmp-{len(memory_id)}-{len(path)}.md", "x\n"))
    data(server).delete_memory(store, mem["id"])
    mem.update(id=memory_id, path=path)
    data(server).memories[store][memory_id] = mem


@pytest.mark.parametrize("case", ["leaves the mirror", "invalid id", "two at one path", "file and directory",
                                  "differ in case"])
def test_a_pull_refused_for_a_path_or_id_names_it_without_a_piece_of_a_secret(fake_anthropic: FakeAnthropic,
                                                                              ws: Workspace, case: str) -> None:
    d = data(fake_anthropic)
    store = d.add_store()
    near = "/" + "y" * 55 + "/" + TOKEN  # a mirror path, quoted: the cut at 80 inside the token
    if case == "leaves the mirror":
        d.write_memory(store, AT_THE_CUT, "x\n")
    elif case == "invalid id":
        _raw_memory(fake_anthropic, store, "z" * 60 + " " + TOKEN, "/notes/a.md")
    elif case == "two at one path":
        _raw_memory(fake_anthropic, store, "mem_01aaaaaaaaaaaaaaaaaaaaaa", near)
        _raw_memory(fake_anthropic, store, "mem_01bbbbbbbbbbbbbbbbbbbbbb", near)
    elif case == "file and directory":
        d.write_memory(store, near, "x\n")
        d.write_memory(store, near + "/b.md", "x\n")
    else:
        d.write_memory(store, near + ".md", "x\n")
        d.write_memory(store, "/" + "Y" * 55 + "/" + TOKEN + ".md", "x\n")  # the same file on macOS

    result = cli(ws, "cloud", "memory", "pull", store)

    assert result.exit_code == 2, result.stderr
    assert "nothing pulled" in result.stderr and "[REDACTED" in result.stderr, result.stderr
    assert BODY not in result.stderr, result.stderr


def test_a_push_refused_for_a_path_names_it_without_a_piece_of_a_secret() -> None:
    redactor = default_redactor()
    surrogate = "/" + "x" * 40 + "\ud800" + TOKEN + ".md"  # quoted: \ud800 takes 6, the cut inside the token
    with pytest.raises(UsageError) as not_utf8:
        check_wanted("memstore_01x", {surrogate: Wanted(surrogate, "text\n", "playbook:legal")}, {}, redactor)
    upper, lower = "/" + "X" * 55 + "/" + TOKEN + ".md", "/" + "x" * 55 + "/" + TOKEN + ".md"
    with pytest.raises(UsageError) as case:
        check_wanted("memstore_01x", {lower: Wanted(lower, "text\n", "playbook:legal")},
                     {upper: {"path": upper}}, redactor)
    for e in (not_utf8.value, case.value):
        assert "nothing pushed" in str(e) and "[REDACTED" in str(e) and BODY not in str(e), str(e)


def test_a_conflict_shows_the_cloud_side_cut_only_once_redacted(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    from dreamcli.cloud.memory_push import EXCERPT
    from tests.support.playbooks import write_playbook

    d = data(fake_anthropic)
    store = d.add_store()
    write_playbook(ws, "legal", [("pb-aaaaaaaa", "Tools", "Convert .docx with pandoc first.")])
    assert cli(ws, "cloud", "memory", "push", "legal", "--store", store).exit_code == 0
    edited = "a" * (EXCERPT - 20) + " " + TOKEN + "\n"  # the excerpt's end falls inside the token
    d.write_memory(store, "/playbooks/legal/tools.md", edited)
    write_playbook(ws, "legal", [("pb-aaaaaaaa", "Tools", "Convert .docx with pandoc, then read it.")], version=2)

    shown = cli(ws, "cloud", "memory", "push", "legal", "--store", store, "--json")
    plain = cli(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert shown.exit_code == 1 and plain.exit_code == 1, shown.stderr + plain.stderr
    [conflict] = json.loads(shown.stdout)["conflicts"]
    assert conflict["cloud_content"].startswith("a" * 100) and "[REDACTED" in conflict["cloud_content"]
    assert len(conflict["cloud_content"]) <= EXCERPT
    assert BODY not in shown.stdout and BODY not in plain.stdout and "| aaaa" in plain.stdout, plain.stdout


"""`mounts.place`: where a real path lies in its file system, read from a mount table as a path lookup
reads it (a mount hides what lies under it; of mounts stacked on one folder the last shows)."""

from __future__ import annotations

from pathlib import Path

import pytest

import dreamcli.agent.tools.mounts as mounts
from dreamcli.agent.tools.mounts import mounted_inside, names_up, parse_mounts, place, read_mounts, within

TABLE = b"""\
20 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
21 20 8:1 /home/u/ws/playbooks /mnt/pb rw,relatime shared:1 - ext4 /dev/sda1 rw
22 20 0:30 / /home/u/ws/sessions rw - tmpfs tmpfs rw
23 20 0:30 /2026 /srv/y rw - tmpfs tmpfs rw
24 20 8:1 /home/u/ws/state /srv/x/deep rw - ext4 /dev/sda1 rw
25 20 0:40 / /srv/x rw - tmpfs tmpfs rw
26 20 8:1 /opt /stack rw - ext4 /dev/sda1 rw
27 26 8:1 /home/u/ws/dreams /stack rw - ext4 /dev/sda1 rw
28 20 8:1 /home/u/my\\040ws /mnt/with\\040space rw - ext4 /dev/sda1 rw
"""
MOUNTS = parse_mounts(TABLE)


def test_a_path_on_the_root_mount_is_itself() -> None:
    assert place("/", MOUNTS) == ("8:1", "/")
    assert place("/home/u/proj/src", MOUNTS) == ("8:1", "/home/u/proj/src")


def test_a_bind_mount_is_the_folder_it_shows() -> None:
    assert place("/mnt/pb", MOUNTS) == ("8:1", "/home/u/ws/playbooks")
    assert place("/mnt/pb/team/x", MOUNTS) == ("8:1", "/home/u/ws/playbooks/team/x")
    assert place("/mnt/pbx", MOUNTS) == ("8:1", "/mnt/pbx")  # a name that only starts like the mount point


def test_escaped_names_are_read_back() -> None:
    assert place("/mnt/with space/a", MOUNTS) == ("8:1", "/home/u/my ws/a")


def test_a_mount_over_a_folder_hides_an_earlier_mount_below_it() -> None:
    """/srv/x/deep was mounted first, then a tmpfs on /srv/x: the lookup of /srv/x/deep ends in the tmpfs."""
    assert place("/srv/x/deep", MOUNTS) == ("0:40", "/deep")


def test_of_mounts_stacked_on_one_folder_the_last_shows() -> None:
    assert place("/stack/f", MOUNTS) == ("8:1", "/home/u/ws/dreams/f")


def test_the_folders_above_a_place_are_named_where_a_mount_shows_them() -> None:
    """Up from a bind-mounted folder, through every mount of its file system that shows each folder and is not
    hidden; a folder no mount shows is not named."""
    assert names_up(("8:1", "/home/u/ws/playbooks/team"), MOUNTS) == [
        "/home/u/ws/playbooks/team", "/mnt/pb/team", "/home/u/ws/playbooks", "/mnt/pb", "/home/u/ws", "/home/u",
        "/home", "/"]
    assert names_up(("0:30", "/2026/01"), MOUNTS) == ["/home/u/ws/sessions/2026/01", "/srv/y/01",
                                                      "/home/u/ws/sessions/2026", "/srv/y", "/home/u/ws/sessions"]
    chroot = parse_mounts(b"30 1 8:1 /home/u/ws/playbooks / rw - ext4 /dev/sda1 rw\n")
    assert names_up(("8:1", "/home/u/ws/playbooks/team"), chroot) == ["/team", "/"]
    assert names_up(("0:40", "/deep"), MOUNTS) == ["/srv/x/deep", "/srv/x"]  # the hidden ext4 mount: not this


@pytest.mark.parametrize("order", [(2, 3), (3, 2)])
def test_a_folder_shown_by_two_mounts_is_named_through_both_whatever_their_order(order: tuple[int, int]) -> None:
    """A disk mounted at /t/d and bound whole at /ws/extra, listed either way round: each folder of it has both
    names (the first mount that shows it alone is not enough: the workspace may be above the other)."""
    lines = {2: b"2 1 0:50 / /t/d rw - tmpfs tmpfs rw", 3: b"3 1 0:50 / /ws/extra rw - tmpfs tmpfs rw"}
    table = parse_mounts(b"\n".join([b"1 0 8:1 / / rw - ext4 /dev/sda1 rw", *(lines[n] for n in order)]))
    names = names_up(("0:50", "/proj"), table)
    assert sorted(names) == ["/t/d", "/t/d/proj", "/ws/extra", "/ws/extra/proj"], names
    assert names[:2] == (["/t/d/proj", "/ws/extra/proj"] if order == (2, 3) else ["/ws/extra/proj", "/t/d/proj"])


def test_a_name_through_a_hidden_mount_is_not_given() -> None:
    """The disk is bound at /k too, but a tmpfs mounted over /k hides it: /k/proj is the tmpfs's."""
    table = parse_mounts(b"""\
1 0 8:1 / / rw - ext4 /dev/sda1 rw
2 1 0:50 / /t/d rw - tmpfs tmpfs rw
3 1 0:50 / /k rw - tmpfs tmpfs rw
4 3 0:60 / /k rw - tmpfs tmpfs rw
5 1 0:50 /sub /s rw - tmpfs tmpfs rw
""")
    assert names_up(("0:50", "/sub/x"), table) == ["/t/d/sub/x", "/s/x", "/t/d/sub", "/s", "/t/d"]


def test_a_table_builds_its_lookup_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many mounts of one disk, each hidden by a tmpfs over it (the review's cost case): the walk up asks `place`
    about every name through them, with the lookup built once for the table, not once for each question (that
    cost depth x mounts^2: 3 s at 1000 mounts). A plain tuple still works, with a lookup of its own."""
    lines = [b"1 0 8:1 / / rw - ext4 /dev/sda1 rw", b"5 1 8:17 / /data rw - ext4 /dev/sdb rw"]
    for i in range(200):
        lines += [b"%d 1 8:17 / /k/b%d rw - ext4 /dev/sdb rw" % (2 * i + 10, i),
                  b"%d %d 0:%d / /k/b%d rw - tmpfs t rw" % (2 * i + 11, 2 * i + 10, i + 50, i)]
    table = parse_mounts(b"\n".join(lines))
    built: list[int] = []
    lookup = mounts._lookup
    monkeypatch.setattr(mounts, "_lookup", lambda ms: built.append(len(ms)) or lookup(ms))
    at = place("/data/u/p/a/b/c/d/e", table)
    assert at == ("8:17", "/u/p/a/b/c/d/e")
    assert names_up(at, table)[:2] == ["/data/u/p/a/b/c/d/e", "/data/u/p/a/b/c/d"]
    assert mounted_inside("/k", table)[0] == ("/k/b0", ("0:50", "/"))
    assert built == [402]
    assert place("/k/b7/x", tuple(table)) == ("0:57", "/x") and built == [402, 402]


def test_within_compares_places_in_one_file_system() -> None:
    home = ("8:1", "/home/u/ws")
    assert within(("8:1", "/home/u/ws"), home) and not within(("8:1", "/home/u/ws"), home, strictly=True)
    assert within(("8:1", "/home/u/ws/playbooks/x"), home)
    assert not within(("8:1", "/home/u/wsx"), home) and not within(("0:30", "/home/u/ws/a"), home)


def test_the_file_systems_mounted_inside_a_folder_are_its_too() -> None:
    inside = mounted_inside("/home/u/ws", MOUNTS)
    assert inside == [("/home/u/ws/sessions", ("0:30", "/"))]
    assert within(place("/srv/y/01", MOUNTS) or ("", ""), inside[0][1])  # a bind of sessions/2026, elsewhere


def test_no_table_no_places(tmp_path: Path) -> None:
    assert read_mounts(str(tmp_path / "missing")) is None
    assert place("/a", ()) is None
    this = read_mounts()
    assert this is None or place(str(Path.cwd().resolve()), this) is not None

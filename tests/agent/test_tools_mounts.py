"""`mounts.place`: where a real path lies in its file system, read from a mount table as a path lookup
reads it (a mount hides what lies under it; of mounts stacked on one folder the last shows)."""

from __future__ import annotations

from pathlib import Path

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
    """Up from a bind-mounted folder, through any mount of its file system that shows each folder and is not
    hidden; a folder no mount shows is not named."""
    assert names_up(("8:1", "/home/u/ws/playbooks/team"), MOUNTS) == [
        "/home/u/ws/playbooks/team", "/home/u/ws/playbooks", "/home/u/ws", "/home/u", "/home", "/"]
    assert names_up(("0:30", "/2026/01"), MOUNTS) == ["/home/u/ws/sessions/2026/01", "/home/u/ws/sessions/2026",
                                                      "/home/u/ws/sessions"]
    chroot = parse_mounts(b"30 1 8:1 /home/u/ws/playbooks / rw - ext4 /dev/sda1 rw\n")
    assert names_up(("8:1", "/home/u/ws/playbooks/team"), chroot) == ["/team", "/"]
    assert names_up(("0:40", "/deep"), MOUNTS) == ["/srv/x/deep", "/srv/x"]  # the hidden ext4 mount: not this


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

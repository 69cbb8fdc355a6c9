"""Writing bundles (a directory, or a reproducible .tar.gz, or .tar.gz on stdout) and reading them back
safely: only regular files, no member outside the bundle, no links, a size cap."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from dreamcli.errors import InputError, UsageError
from dreamcli.portability.manifest import MAX_MEMBER_DEPTH, safe_member_path
from dreamcli.workspace.deeptree import walk
from dreamcli.workspace.fsutil import DIR_MODE, FILE_MODE, atomic_write_bytes, ensure_dir, naming, write_all

MAX_BUNDLE_BYTES = 2 << 30  # refuse to unpack more than this (a gzip bomb must not fill the disk)


def sink_prefix(out: Path) -> str:
    """The name prefix of the temporary a bundle sink writes beside `out` (`.NAME.<random>` for a directory,
    `.NAME.<random>.tmp` for a tarball), which failures.py tells apart from the workspace's files."""
    return f".{out.name}."


def is_tarball(path: str | Path) -> bool:
    name = str(path).lower()
    return name.endswith((".tar.gz", ".tgz", ".tar"))


class DirSink:
    """A bundle directory, written into a temporary sibling and renamed into place at the end."""

    def __init__(self, out: Path) -> None:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UsageError(f"{out} exists and is not an empty directory (choose another -o)")
        ensure_dir(out.parent)
        self.out = out
        self.tmp = Path(tempfile.mkdtemp(prefix=sink_prefix(out), dir=out.parent))
        os.chmod(self.tmp, DIR_MODE)

    def add(self, name: str, data: bytes) -> None:
        atomic_write_bytes(self.tmp / name, data, fsync=False)

    def close(self) -> None:
        if self.out.exists():
            self.out.rmdir()
        os.replace(self.tmp, self.out)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


class TarSink:
    """A gzip-compressed tarball with fixed owner, modes and times, so the same content gives the same
    bytes. Written to a temporary file renamed into place, or to a stream (stdout)."""

    def __init__(self, out: Path | None, stream: BinaryIO | None = None) -> None:
        self.out = out
        self.tmp: Path | None = None
        if out is not None:
            ensure_dir(out.parent)
            fd, tmp = tempfile.mkstemp(prefix=sink_prefix(out), suffix=".tmp", dir=out.parent)
            os.fchmod(fd, FILE_MODE)
            self.tmp = Path(tmp)
            self.raw: BinaryIO = os.fdopen(fd, "wb")
        else:
            assert stream is not None
            self.raw = stream
        self.gz = gzip.GzipFile(fileobj=self.raw, mode="wb", mtime=0, filename="")
        self.tar = tarfile.open(fileobj=self.gz, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self.dirs: set[str] = set()

    def _dir(self, name: str) -> None:
        parent = name.rpartition("/")[0]
        if not parent or parent in self.dirs:
            return
        self._dir(parent)
        info = tarfile.TarInfo(parent)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, DIR_MODE, 0
        self.tar.addfile(info)
        self.dirs.add(parent)

    def add(self, name: str, data: bytes) -> None:
        with naming(self.out):  # a full disk's write names no file: the bundle's
            self._dir(name)
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), FILE_MODE, 0
            self.tar.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        with naming(self.out):
            self.tar.close()
            self.gz.close()
            self.raw.flush()
            if self.tmp is not None and self.out is not None:
                os.fsync(self.raw.fileno())
                self.raw.close()
                os.replace(self.tmp, self.out)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.tar.close()
            self.gz.close()
        if self.tmp is not None:
            with contextlib.suppress(OSError):  # a full disk fails the flush of what is buffered: removed all the same
                self.raw.close()
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)


# ---------------------------------------------------------------- reading


class _Unwritten(Exception):
    """An OSError writing the copy in `dest` (the workspace's disk full, ...), carried past the handlers that
    take an OSError reading the bundle for a bad bundle."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def unpack(bundle: Path, dest: Path) -> dict[str, Path]:
    """Copy the regular files of a bundle (directory or tarball) into `dest`; {member name: file}.
    Refuses links, special files, duplicate names and paths escaping the bundle. An error writing the copy
    is raised as the OSError it is, naming the file in `dest` (exit 74 for a full disk): not the bundle's."""
    if not bundle.exists():
        raise InputError("bundle not found", file=str(bundle))
    try:
        ensure_dir(dest)
        if bundle.is_dir():
            return _unpack_dir(bundle, dest)
        return _unpack_tar(bundle, dest)
    except _Unwritten as e:
        raise e.error from None


def copy_file(src: Path, dst: Path) -> None:
    """Copy `src` into a new file `dst` (0600): an error writing names `dst` (shutil's copies name the source
    when the disk is full), one reading names `src`."""
    with naming(src), open(src, "rb") as f:
        try:
            _write_new(f.read, dst)
        except _Unwritten as e:
            raise e.error from None


def copy_tree(src: Path, dst: Path) -> None:
    """`shutil.copytree` (links followed) with `copy_file`'s errors, the first raised as it is (copytree
    gathers them into a shutil.Error that says no errno: an internal error, not the full disk)."""
    ensure_dir(dst)
    for entry in sorted(src.iterdir()):
        if entry.is_dir():
            copy_tree(entry, dst / entry.name)
        else:
            copy_file(entry, dst / entry.name)


def _write_new(read: Callable[[int], bytes], target: Path) -> None:
    """Write what `read` gives into a new file `target` (its folder made if missing); an OSError doing so is
    raised as _Unwritten, naming `target`, and an OSError of `read` as it is."""
    try:
        ensure_dir(target.parent)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except OSError as e:
        raise _Unwritten(e) from None
    try:
        while chunk := read(1 << 20):
            try:
                with naming(target):  # where the system does not say which file is open at `fd`
                    write_all(fd, chunk)
            except OSError as e:
                raise _Unwritten(e) from None
    finally:
        os.close(fd)


def _unpack_dir(bundle: Path, dest: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    total = 0
    for dirpath, dirnames, filenames in walk(bundle):
        folder = Path(dirpath).relative_to(bundle)
        if len(folder.parts) >= MAX_MEMBER_DEPTH:  # no member can be in it: refused before going deeper
            shown = folder.as_posix()
            shown = shown if len(shown) <= 80 else shown[:80] + "…"
            raise InputError(f"{shown!r} is {len(folder.parts)} folders deep (refused: members are at most "
                             f"{MAX_MEMBER_DEPTH} levels deep)", file=str(bundle))
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            rel = p.relative_to(bundle).as_posix()
            if p.is_symlink():
                raise InputError(f"{rel} is a symbolic link (refused: bundles contain only regular files)",
                                 file=str(bundle))
            if name in filenames and not p.is_file():
                raise InputError(f"{rel} is not a regular file (refused)", file=str(bundle))
            if name in filenames and p.stat().st_nlink > 1:
                raise InputError(f"{rel} is a hard link (refused: bundles contain only regular files, and a "
                                 "link could share a file outside the bundle)", file=str(bundle))
        for name in filenames:
            src = Path(dirpath) / name
            rel = safe_member_path(src.relative_to(bundle).as_posix(), bundle=str(bundle))
            total += src.stat().st_size
            if total > MAX_BUNDLE_BYTES:
                raise InputError(f"bundle is larger than {MAX_BUNDLE_BYTES >> 20} MB (refused)", file=str(bundle))
            target = dest / rel
            with naming(src), open(src, "rb") as f:
                _write_new(f.read, target)
            out[rel] = target
    return out


def _one_kind(name: str, files: dict[str, Path], folders: set[str], where: str) -> None:
    """Member `name` is not also a folder of another member, nor inside one that is a file (`playbooks` and
    `playbooks/ops.md`): a one-line refusal, not the error of writing the second one."""
    parent = posixpath.dirname(name)
    clash = name if name in folders else None
    while parent and clash is None and parent not in folders:
        clash = parent if parent in files else None
        folders.add(parent)
        parent = posixpath.dirname(parent)
    if clash is not None:
        raise InputError(f"member {clash!r} is both a file and a folder (refused)", file=where)


def _unpack_tar(bundle: Path, dest: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    folders: set[str] = set()  # the folders the members so far go into
    where = str(bundle)
    total = 0
    try:
        with tarfile.open(bundle, mode="r:*") as tar:
            for member in tar:
                name = safe_member_path(member.name, bundle=where)
                if member.issym() or member.islnk():
                    raise InputError(f"member {member.name!r} is a {'symbolic' if member.issym() else 'hard'} "
                                     f"link to {member.linkname!r} (refused: links could escape the target "
                                     "directory)", file=where)
                if member.isdir():
                    continue
                if not member.isreg():
                    raise InputError(f"member {member.name!r} is not a regular file (refused)", file=where)
                if name in out:
                    raise InputError(f"member {name!r} appears twice (refused)", file=where)
                _one_kind(name, out, folders, where)
                total += member.size
                if total > MAX_BUNDLE_BYTES:
                    raise InputError(f"bundle unpacks to more than {MAX_BUNDLE_BYTES >> 20} MB (refused)",
                                     file=where)
                src = tar.extractfile(member)
                if src is None:
                    raise InputError(f"member {name!r} cannot be read", file=where)
                target = dest / name
                _write_new(src.read, target)  # an error reading is the bundle's; writing, the workspace's
                out[name] = target
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as err:
        detail = (str(err).splitlines() or [""])[0].rstrip(":")
        if not detail or "could not be opened" in detail:
            detail = "not a tarball"
        raise InputError(f"not a readable bundle (a directory or .tar.gz made by `dreamcli export`): {detail}",
                         file=where) from None
    return out

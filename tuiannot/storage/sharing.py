"""Who may open a database file: private by default, shared by a team's group in a team folder.

A database is created readable by its owner only (0600), unless its folder is group-writable: a team folder,
where every annotator is a Unix user of one group. There the database is created group-read-write (0660) and
given the folder's group, and SQLite creates its ``-wal`` and ``-shm`` files with the same permissions (it
copies the database file's mode and owner). A setgid folder (``chmod g+s``) makes every file in it take the
folder's group, so :func:`share` makes the folder ``2770``: owner and group may do everything, others nothing.

:func:`share` (``tuiannot team-init DIR --group GROUP``) sets a team folder up, or repairs the sharing of a
database made before. :func:`permission_problem` says, in one line, why this user cannot open a file: whose it
is, its mode, who you are, and what fixes it.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

SHARED_MODE = 0o660
PRIVATE_MODE = 0o600
TEAM_FOLDER_MODE = 0o2770  # setgid: new files take the folder's group


def team_folder(folder: Path) -> os.stat_result | None:
    """The folder's stat when it is a team folder (group-writable), else None."""
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return info if info.st_mode & stat.S_IWGRP else None


def create_mode(folder: Path) -> int:
    """The mode a new database gets in ``folder``: shared with the group of a team folder, else private."""
    return SHARED_MODE if team_folder(folder) is not None else PRIVATE_MODE


def give_folder_group(fd: int, folder: Path) -> None:
    """A new database in a team folder that is not setgid still gets the folder's group (where allowed)."""
    info = team_folder(folder)
    if info is not None and os.fstat(fd).st_gid != info.st_gid:
        try:
            os.fchown(fd, -1, info.st_gid)
        except PermissionError:  # not a member of that group: the message on open says what to do
            pass


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a numeric id with no account (containers, tests)
        return str(uid)


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def you() -> str:
    groups = ",".join(group_name(g) for g in sorted(set(os.getgroups()) | {os.getegid()}))
    return f"{user_name(os.geteuid())} (groups {groups})"


def permission_problem(path: Path, write: bool = True) -> str | None:
    """Why this user cannot read (or write) ``path``, in one line with the fix; None if they can."""
    if not path.exists() or os.access(path, os.R_OK | (os.W_OK if write else 0)):
        return None
    if write and os.statvfs(path).f_flag & os.ST_RDONLY:
        return (f"{path} is read-only (its file system is mounted read-only): copy it somewhere writable and pass "
                "--db COPY")
    info = path.stat()
    owner, group = user_name(info.st_uid), group_name(info.st_gid)
    folder = path.parent if str(path.parent) else Path(".")
    return (f"{path} is {owner}:{group} with mode {stat.S_IMODE(info.st_mode):o}, and you are {you()}: to share it "
            f"with a team, its owner runs `tuiannot team-init {folder} --group GROUP` (and adds each annotator to "
            f"GROUP); for yourself alone, chmod u+rw {path}")


@dataclass
class Shared:
    """What :func:`share` did."""

    folder: Path
    group: str
    database: Path
    created: bool
    repaired: list[str] = field(default_factory=list)


def share(folder: Path, group: str, database: str = "tuiannot.db") -> Shared:
    """Make ``folder`` a team folder of ``group`` (created if needed, setgid, 2770) and its database shared
    (0660, the group's): the database is created if missing, and an existing one (with ``-wal``, ``-shm``) is
    repaired. Raises :class:`UserError` with the reason and the fix."""
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise UserError(f"no group named {group!r} on this machine; create it (groupadd {group}) and add the "
                        "annotators to it (usermod -aG GROUP USER)") from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, -1, gid)
        os.chmod(folder, TEAM_FOLDER_MODE)
    except PermissionError:
        raise UserError(f"{folder}: cannot give it to group {group!r} ({you()}): run team-init as the folder's "
                        f"owner and a member of {group!r}, or as root") from None
    except OSError as e:
        raise UserError(f"{folder}: cannot set it up ({e.strerror})") from None
    path = folder / database
    created = not path.exists()
    if created:  # an empty file: the first annotator's tuiannot lays the schema in it
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SHARED_MODE)
            os.fchmod(fd, SHARED_MODE)
            os.fchown(fd, -1, gid)
            os.close(fd)
        except OSError as e:
            raise UserError(f"{path}: cannot create the database ({e.strerror})") from None
    repaired = []
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if not file.exists():
            continue
        info = file.stat()
        if info.st_gid != gid or stat.S_IMODE(info.st_mode) != SHARED_MODE:
            try:
                os.chown(file, -1, gid)
                os.chmod(file, SHARED_MODE)
            except PermissionError:
                raise UserError(f"{file}: cannot share it with {group!r} ({you()}): run team-init as its owner "
                                "or as root") from None
            repaired.append(file.name)
    return Shared(folder, group, path, created, repaired)

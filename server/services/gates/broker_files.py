"""Writing the broker's files atomically: a reload (SIGHUP) never reads half a file."""

from __future__ import annotations

import grp
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)


def write_atomic(path: Path, text: str, *, mode: int = 0o640, group: str | None = None) -> None:
    """Write ``text`` through a temporary file, fsync, optional group, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, mode)  # the umask may have narrowed the mode given to open()
    if group is not None:
        os.chown(tmp, -1, grp.getgrnam(group).gr_gid)
    tmp.replace(path)


def write_password_file(path: Path, hash_lines: list[str], *, group: str | None = None) -> None:
    """The broker's password file: one ``user:$7$...`` line per account, as hashed."""
    current_group = None
    if path.exists() and group is None:
        current_group = grp.getgrgid(path.stat().st_gid).gr_name  # keep what broker-config set
    write_atomic(path, "".join(f"{line}\n" for line in hash_lines), group=group or current_group)

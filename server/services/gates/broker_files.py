"""Writing the broker's files atomically: a reload (SIGHUP) never reads half a file."""

from __future__ import annotations

import grp
import logging
import os
from pathlib import Path

from protocol.topics import gate_acl, peer_acl, server_acl

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
    text = "".join(f"{line}\n" for line in hash_lines)
    if group is None:
        write_same_group(path, text)
    else:
        write_atomic(path, text, group=group)


def write_same_group(path: Path, text: str) -> None:
    """Rewrite a broker file keeping the group broker-config gave it (the broker reads it)."""
    group = grp.getgrgid(path.stat().st_gid).gr_name if path.exists() else None
    write_atomic(path, text, group=group)


def render_acl(site: str, peers: dict[str, list[str]], *, server: str) -> str:
    """The ACL: gates by ``pattern`` (username = gate id), then each gate's named peers'
    presence in its own ``user`` block, then the server's block."""
    lines = [
        f"# ACL of gatepass site {site}: written by gatepass-server broker-config.",
        "# Gates (username = gate id) write only their own status, events, presence and",
        "# command-results and read only their own config, commands, acks, the site's manifest,",
        "# revocations and the server's status; each reads the presence of the peers named in",
        "# its block below (the lanes of its zone), and no gate reads another's events.",
        "# Nobody may subscribe to '#'.",
    ]
    lines += [f"pattern {access} {topic}" for access, topic in gate_acl(site)]
    for gate, named in sorted(peers.items()):
        if named:
            lines += ["", f"user {gate}"]
            lines += [f"topic {access} {topic}" for access, topic in peer_acl(site, named)]
    lines += ["", f"user {server}"]
    lines += [f"topic {access} {topic}" for access, topic in server_acl(site)]
    return "\n".join(lines) + "\n"

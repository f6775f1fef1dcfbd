"""The root key's passphrase, as the operator gives it: typed at a prompt, or for automation on
a file descriptor (``--passphrase-fd 3 3<file``) or in ``GATEPASS_ROOT_PASSPHRASE``.

Only ``init`` and the ``keys`` commands ask for it; ``gatepass-server run`` refuses to start
with the variable set, so the running server never holds it (docs/server.md, "Passes and keys").
"""

from __future__ import annotations

import getpass
import os
import sys

from server.cli.errors import CommandError

PASSPHRASE_ENV = "GATEPASS_ROOT_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
_HOW = (
    "type it when asked (in a terminal), or give it on a file descriptor (--passphrase-fd) or "
    f"in {PASSPHRASE_ENV}"
)


def from_fd(fd: int) -> str:
    """Everything readable on ``fd`` up to its end, without the final newline."""
    try:
        with os.fdopen(fd, "r", encoding="utf-8") as source:
            text = source.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read a passphrase from file descriptor {fd}: {exc}") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise CommandError(f"file descriptor {fd} held no passphrase")
    return text


def _typed(prompt: str, *, confirm: bool) -> str:
    if not sys.stdin.isatty():
        raise CommandError(f"the root key needs its passphrase: {_HOW}")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Again, to be sure: ") != first:
        raise CommandError("the two passphrases differ: nothing was changed")
    return first


def current(fd: int | None) -> str:
    """The passphrase the root key has (or, at ``init``, is to have) from the fd, the
    environment or a prompt."""
    if fd is not None:
        return from_fd(fd)
    if PASSPHRASE_ENV in os.environ:
        return os.environ[PASSPHRASE_ENV]
    return _typed("Passphrase of the site's root key: ", confirm=False)


def new(fd: int | None, *, env_allowed: bool) -> str:
    """A passphrase being set: from the fd, the environment (if ``env_allowed``) or typed twice."""
    if fd is not None:
        return from_fd(fd)
    if env_allowed and PASSPHRASE_ENV in os.environ:
        return os.environ[PASSPHRASE_ENV]
    return _typed("New passphrase for the site's root key: ", confirm=True)

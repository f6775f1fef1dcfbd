"""The CLI's one error: a subcommand failed for a reason the operator can act on."""

from __future__ import annotations


class CommandError(Exception):
    """A subcommand failed for a reason the operator can act on (exit status 1)."""

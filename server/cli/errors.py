"""The CLI's one error (exit status 1); server.cli.messages says service errors in the
operator's language."""

from __future__ import annotations


class CommandError(Exception):
    """A subcommand failed for a reason the operator can act on (exit status 1)."""

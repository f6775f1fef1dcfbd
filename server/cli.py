"""``gatepass-server``: the server's command line."""

from __future__ import annotations

import argparse
from importlib.metadata import version


def build_parser() -> argparse.ArgumentParser:
    """The server's argument parser; subcommands register here as they are built."""
    parser = argparse.ArgumentParser(
        prog="gatepass-server",
        description="gatepass server: pass registry, signed passes, event ingest, alerts and "
        "the staff web UI.",
    )
    parser.add_argument("--version", action="version", version=version("gatepass"))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gatepass-server`` console script."""
    build_parser().parse_args(argv)
    return 0

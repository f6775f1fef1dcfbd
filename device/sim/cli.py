"""``gatepass-sim``: device simulators for development, tests and the demo."""

from __future__ import annotations

import argparse
from importlib.metadata import version


def build_parser() -> argparse.ArgumentParser:
    """The simulators' argument parser; each simulator registers a subcommand."""
    parser = argparse.ArgumentParser(
        prog="gatepass-sim",
        description="Simulated QR scanners and IR thermometers that speak the real serial "
        "protocols on a pseudo-terminal.",
    )
    parser.add_argument("--version", action="version", version=version("gatepass"))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gatepass-sim`` console script."""
    build_parser().parse_args(argv)
    return 0

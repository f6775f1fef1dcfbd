"""``gatepass-gate``: the gate unit's command line (composition root entry)."""

from __future__ import annotations

import argparse
from importlib.metadata import version


def build_parser() -> argparse.ArgumentParser:
    """The gate's argument parser; subcommands register here as they are built."""
    parser = argparse.ArgumentParser(
        prog="gatepass-gate",
        description="gatepass gate unit: reads the QR scanner and thermometer, decides offline, "
        "drives the lane, and reports to the server over MQTT.",
    )
    parser.add_argument("--version", action="version", version=version("gatepass"))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gatepass-gate`` console script."""
    build_parser().parse_args(argv)
    return 0

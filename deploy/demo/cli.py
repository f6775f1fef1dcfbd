"""``python -m deploy.demo`` (what ``make demo`` runs): options, logging, then deploy.demo.run."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from deploy.demo.run import Options, run


def build_parser() -> argparse.ArgumentParser:
    """The demo's options; ``make demo DURATION=90 TRAFFIC=0`` maps onto them."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy.demo",
        description="A whole gatepass site on this machine: broker, server, three simulated "
        "lanes and a morning of traffic. Ctrl-C stops everything.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(".demo"),
        help="the demo's folder, wiped at start (default .demo)",
    )
    parser.add_argument(
        "--duration", type=float, help="headless: run this long, stop, print a JSON summary"
    )
    parser.add_argument(
        "--no-traffic", action="store_true", help="no traffic generator: drive the lanes by hand"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="HTTP port of the staff UI (default 8080, or a free one)",
    )
    parser.add_argument(
        "--cut-at", type=float, default=14.0, help="when block-in loses its network (s)"
    )
    parser.add_argument(
        "--cut-seconds",
        type=float,
        default=60.0,
        help="how long block-in stays cut off (default 60)",
    )
    parser.add_argument("--seed", type=int, default=8, help="who lives there and who walks when")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, set up logging, run the demo until it stops."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    options = Options(
        root=args.root.resolve(),
        duration=args.duration,
        traffic=not args.no_traffic,
        http_port=args.port,
        cut_at_s=args.cut_at,
        cut_s=args.cut_seconds,
        seed=args.seed,
    )
    return asyncio.run(run(options))

"""``python -m protocol inspect TEXT [--key FILE]``: print a pass as JSON without trusting it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from protocol.inspect import describe
from protocol.keys import load_pem_public


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, describe the pass, print JSON; exit 1 if a given key does not verify."""
    parser = argparse.ArgumentParser(prog="python -m protocol", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    inspect = sub.add_parser("inspect", help="show a pass's header and claims (untrusted)")
    inspect.add_argument("text", help="the pass text as scanned (PG1:...), or - for stdin")
    inspect.add_argument("--key", type=Path, help="PEM public (or private) key to check against")
    args = parser.parse_args(argv)
    text = sys.stdin.read().strip() if args.text == "-" else args.text
    key = None
    if args.key is not None:
        try:
            key = load_pem_public(args.key.read_bytes())
        except (OSError, ValueError) as exc:
            parser.error(f"cannot load key {args.key}: {exc}")
    report = describe(text, key)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if "error" in report:
        return 2
    if key is not None and not report["signature"]["valid"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

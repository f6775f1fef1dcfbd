"""``make bench``: run every benchmark module, print one table, write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import inspect
import os
import platform
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks.md"


def modules(only: list[str]) -> list[str]:
    """Benchmark modules in bench/, in name order (or just the ones asked for)."""
    names = sorted(p.stem for p in Path(__file__).parent.glob("*.py") if not p.stem.startswith("_"))
    return [n for n in names if not only or n in only]


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    head = "| area | measurement | value | unit | target | baseline (same run) |\n"
    head += "|---|---|---|---|---|---|\n"
    body = "".join(
        f"| {r['area']} | {r['name']} | {fmt(r['value'])} | {r['unit']} | {r.get('target') or ''} "
        f"| {r.get('baseline') or ''} |\n"
        for r in rows
    )
    return head + body


def method(name: str) -> str:
    """A module's section of the report: the command that runs it alone and what it does."""
    doc = inspect.getdoc(importlib.import_module(f"bench.{name}")) or ""
    return f"\n### `python -m bench {name}`\n\n{doc}\n"


def main() -> int:
    """Run, print and write the report; exit 1 if a module failed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("only", nargs="*", help="benchmark modules to run (default: all)")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    failed = []
    for name in modules(args.only):
        print(f"== {name}", flush=True)
        try:
            rows += [{"area": name} | row for row in importlib.import_module(f"bench.{name}").run()]
        except Exception as exc:  # report every module, then fail
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
    text = table(rows)
    print(text)
    how = "".join(method(name) for name in modules(args.only))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    OUT.write_text(
        "# Benchmarks\n\nProduced by `make bench` (`python -m bench`) on "
        f"{dt.date.today().isoformat()} ({machine}). Re-run it to refresh this file.\n"
        "Ratios compare against a baseline measured in the same run.\n\n"
        + text
        + "".join(f"\nFAILED {f}\n" for f in failed)
        + "\n## How each area is measured\n"
        + how
    )
    for f in failed:
        print("FAILED", f, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

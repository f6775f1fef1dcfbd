"""``gatepass-server``: init, import, run, keys, retention, staff, gates and check-config.

Every subcommand takes ``--data DIR`` (or ``GATEPASS_DATA``): the directory holding the SQLite
registry, the key files and nothing else. Heavy modules are imported inside the commands so
``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from importlib.metadata import version
from pathlib import Path
from typing import Any

from server.cli.errors import CommandError
from server.config import DATA_ENV, ConfigError, ServerSettings, load_settings

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_FAIL, EXIT_CONFIG = 0, 1, 2


def _data_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--data",
        type=Path,
        default=os.environ.get(DATA_ENV),
        help=f"data directory (registry database and keys); default ${DATA_ENV}",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The server's argument parser; every subcommand takes --data."""
    parser = argparse.ArgumentParser(
        prog="gatepass-server",
        description="gatepass server: pass registry, signed passes, event ingest, alerts and "
        "the staff web UI.",
    )
    parser.add_argument("--version", action="version", version=version("gatepass"))
    parser.add_argument("--check-config", action="store_true", help="validate settings and exit")
    data = _data_parent()
    sub = parser.add_subparsers(dest="command")
    init = sub.add_parser("init", parents=[data], help="create a site: database, keys, admin")
    init.add_argument("--site", required=True, help="site id, [a-z0-9-], e.g. gw01")
    init.add_argument("--name", default="", help="community name (default: the site id)")
    init.add_argument(
        "--zone", action="append", dest="zones", help="zone name (repeat; default: main)"
    )
    init.add_argument("--admin", default="admin", help="first admin user name")
    _passphrase_fd(init)
    sub.add_parser("check-config", parents=[data], help="validate settings, print them, exit")
    run = sub.add_parser("run", parents=[data], help="serve the API")
    run.add_argument("--bind", default=None, help="address to listen on (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=None, help="port (default 8080)")
    imp = sub.add_parser("import", help="import a register file")
    imp_sub = imp.add_subparsers(dest="what", required=True)
    residents = imp_sub.add_parser("residents", parents=[data], help="residents from CSV or XLSX")
    _import_options(residents)
    keys = sub.add_parser("keys", help="signing keys")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    keys_sub.add_parser("list", parents=[data], help="list keys; is the root key encrypted?")
    rotate = keys_sub.add_parser("rotate", parents=[data], help="announce a new key")
    rotate.add_argument("use", choices=["pass", "revlist", "control"])
    _passphrase_fd(rotate)
    retire = keys_sub.add_parser("retire", parents=[data], help="take a key off the manifest")
    retire.add_argument("kid")
    _passphrase_fd(retire)
    protect = keys_sub.add_parser(
        "passphrase", parents=[data], help="encrypt the root key under a (new) passphrase"
    )
    _passphrase_fd(protect)
    protect.add_argument(
        "--new-passphrase-fd", type=int, metavar="FD", help="read the new passphrase from FD"
    )
    phone = keys_sub.add_parser(
        "rotate-phone", parents=[data], help="new phone-tag keys after a gate is lost"
    )
    phone.add_argument(
        "--zone", type=int, help="the lost gate's zone (default: every zone); the site key too"
    )
    sub.add_parser("retention", parents=[data], help="apply the retention periods now")
    _add_staff_commands(sub, data)
    _add_pass_commands(sub, data)
    _add_cards_command(sub, data)
    _add_link_commands(sub, data)
    return parser


def _import_options(residents: argparse.ArgumentParser) -> None:
    """``import residents``: preview, zone, confirmed rows, JSON (docs/office.md)."""
    residents.add_argument("file", type=Path)
    residents.add_argument(
        "--skip-invalid", action="store_true", help="write the valid rows, report the rest"
    )
    residents.add_argument(
        "--dry-run", action="store_true", help="preview what the import would do; write nothing"
    )
    residents.add_argument(
        "--zone", help="zone (name or number) for rows without one; new households go there"
    )
    residents.add_argument(
        "--confirm-row",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="register again the erased person of spreadsheet row N (repeat)",
    )
    residents.add_argument(
        "--json", action="store_true", help="print one JSON object as the last line"
    )


def _passphrase_fd(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-fd",
        type=int,
        metavar="FD",
        help="read the root key's passphrase from FD (default: GATEPASS_ROOT_PASSPHRASE, else ask)",
    )


def _add_staff_commands(sub: Any, data: argparse.ArgumentParser) -> None:
    """``staff list|add|reset-password|caller`` (the way back in without the web UI)."""
    staff = sub.add_parser("staff", help="staff accounts")
    staff_sub = staff.add_subparsers(dest="action", required=True)
    staff_sub.add_parser("list", parents=[data], help="list the accounts")
    add = staff_sub.add_parser("add", parents=[data], help="add an account (one-time password)")
    add.add_argument("username")
    add.add_argument("--role", choices=["admin", "staff"], default="staff")
    add.add_argument("--name", default="", help="display name (default: the user name)")
    add.add_argument("--zone", action="append", dest="zones", help="zone it may act in (repeat)")
    add.add_argument("--all-zones", action="store_true", help="it may act in every zone")
    reset = staff_sub.add_parser(
        "reset-password", parents=[data], help="a new one-time password; ends its sessions"
    )
    reset.add_argument("username")
    caller = staff_sub.add_parser(
        "caller", parents=[data], help="mark an account a follow-up caller in its zones"
    )
    caller.add_argument("username")
    caller.add_argument("--zone", action="append", dest="zones", help="zone it calls in (repeat)")
    caller.add_argument("--none", action="store_true", help="it is no longer a caller")


def _add_pass_commands(sub: Any, data: argparse.ArgumentParser) -> None:
    passes = sub.add_parser(
        "passes", help="passes for everyone, revoking a unit or building, locks and unlock"
    )
    passes_sub = passes.add_subparsers(dest="action", required=True)
    place = argparse.ArgumentParser(add_help=False)
    place.add_argument("--zone", type=_label, help="zone number or name (default: every zone)")
    place.add_argument("--building", type=_label, help="building, e.g. 1 or 1号楼")
    place.add_argument("--unit", type=_label, help="unit of that building, e.g. 2")
    place.add_argument("--json", action="store_true", help="print one JSON object last")
    issue = passes_sub.add_parser(
        "issue",
        parents=[data, place],
        help="a pass for each resident (not moved out) without a live pass; twice issues nothing",
    )
    issue.add_argument("--days", type=_days, help="validity in days (default: the site's)")
    revoke = passes_sub.add_parser(
        "revoke", parents=[data, place], help="revoke every live pass of a building or unit"
    )
    revoke.add_argument("--reason", required=True, type=_reason, help="why (required, audited)")
    passes_sub.add_parser("locks", parents=[data], help="list the passes locked now")
    unlock = passes_sub.add_parser("unlock", parents=[data], help="clear a pass's lock")
    unlock.add_argument("ref", type=_pass_ref, help="the pass's 16-hex ref")
    unlock.add_argument(
        "--reason", default="", help="required: the ID check made (kept and audited, 500 chars)"
    )
    unlock.add_argument("--note", default="", help=argparse.SUPPRESS)  # the older name


def _label(value: str) -> str:
    """A zone, building or unit as typed: at most 32 characters, no control characters."""
    text = value.strip()
    if not text or len(text) > 32 or any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text):
        raise argparse.ArgumentTypeError("1 to 32 characters, no control characters")
    return text


def _days(value: str) -> int:
    if len(value) > 3 or not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 366:
        raise argparse.ArgumentTypeError("a whole number of days from 1 to 366")
    return int(value)


def _reason(value: str) -> str:
    if len(value) > 200 or any(ord(c) < 32 for c in value):
        raise argparse.ArgumentTypeError("at most 200 characters, no control characters")
    return value


def _add_cards_command(sub: Any, data: argparse.ArgumentParser) -> None:
    """``cards --out FILE.pdf [--zone Z] [--building B] [--unit U] [--json]`` (issue 16)."""
    cards = sub.add_parser(
        "cards",
        parents=[data],
        help="the cards of the site, a zone, a building or a unit as one PDF, with a delivery "
        "checklist per unit",
    )
    cards.add_argument("--out", type=Path, required=True, help="the PDF file to write")
    cards.add_argument("--zone", help="only this zone (number or name)")
    cards.add_argument("--building", help="only this building, e.g. 1号楼")
    cards.add_argument(
        "--unit", help="only this unit: with --building, or as building-unit (1号楼-3单元)"
    )
    cards.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def _pass_ref(value: str) -> str:
    """A pass ref as the registry writes it: 16 lowercase hex digits."""
    ref = value.strip().lower()
    if len(ref) != 16 or any(c not in "0123456789abcdef" for c in ref):
        raise argparse.ArgumentTypeError("a pass ref is 16 hex digits")
    return ref


def _add_link_commands(sub: Any, data: argparse.ArgumentParser) -> None:
    """``gate add|remove|rekey`` and ``broker-config`` (issue 6; docs/operations.md)."""
    broker = argparse.ArgumentParser(add_help=False)
    broker.add_argument("--broker-host", help="broker address for the gate (default mqtt_host)")
    broker.add_argument("--broker-port", type=int, help="broker port (default mqtt_port)")
    broker.add_argument("--tls-ca", help="CA file on the gate for the broker's TLS listener")
    broker.add_argument(
        "--out",
        type=Path,
        required=True,
        help="where to write the gate's file (it holds its password): outside the data directory",
    )
    broker.add_argument("--hardware", choices=["pi", "sim"], default="pi")
    broker.add_argument("--gate-data-dir", default="/var/lib/gatepass", help="on the gate")
    broker.add_argument("--scanner-model", default="grow-gm65")
    broker.add_argument("--scanner-port", default="/dev/gate-scanner")
    broker.add_argument("--thermometer-model", default="gy-mcu90614")
    broker.add_argument("--thermometer-port", default="/dev/serial0")
    gate = sub.add_parser("gate", help="provision gates (lanes)")
    gate_sub = gate.add_subparsers(dest="action", required=True)
    add = gate_sub.add_parser("add", parents=[data, broker], help="register a lane, write its file")
    add.add_argument("gate", help="gate id, [a-z0-9-], e.g. east-in")
    add.add_argument("--zone", required=True, help="zone number or name")
    add.add_argument("--direction", required=True, choices=["in", "out"])
    add.add_argument("--name", help="display name (default: the gate id)")
    rekey = gate_sub.add_parser("rekey", parents=[data, broker], help="new broker credentials")
    rekey.add_argument("gate")
    remove = gate_sub.add_parser("remove", parents=[data], help="unregister a lane")
    remove.add_argument("gate")
    conf = sub.add_parser("broker-config", parents=[data], help="write the mosquitto config")
    conf.add_argument("--out", type=Path, required=True, help="directory for mosquitto.conf")
    conf.add_argument("--bind", default="127.0.0.1", help="plain listener address")
    conf.add_argument("--port", type=int, default=1883, help="plain listener port")
    conf.add_argument("--tls-port", type=int, help="add a TLS listener on this port")
    conf.add_argument("--tls-bind", default="0.0.0.0", help="TLS listener address")  # noqa: S104
    conf.add_argument("--tls-cert", type=Path, help="server certificate (PEM)")
    conf.add_argument("--tls-key", type=Path, help="server key (PEM)")
    conf.add_argument("--group", help="group of the broker's user (files 0640, data 0770)")
    conf.add_argument("--log-file", type=Path, help="broker log file (default: stderr)")


def _settings(args: argparse.Namespace, **overrides: Any) -> ServerSettings:
    if args.data is None:
        raise ConfigError(f"--data DIR or ${DATA_ENV} is required")
    return load_settings(args.data.resolve(), **overrides)


def _run_async(work: Callable[..., Coroutine[Any, Any, int]], *args: Any) -> int:
    return asyncio.run(work(*args))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gatepass-server`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("GATEPASS_LOG_LEVEL", "INFO"),
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    os.umask(0o077)  # the database, its WAL and the key files are for the server user only
    if args.check_config and args.command is None:
        args.command = "check-config"
        args.data = Path(os.environ[DATA_ENV]) if DATA_ENV in os.environ else None
    if args.command is None:
        parser.print_help()
        return EXIT_FAIL
    from server.cli import run

    try:
        if args.command in ("check-config",) or args.check_config:
            settings = _settings(args)
            print(run.describe(settings))
            for warning in run.warnings(settings):
                print(f"warning: {warning}", file=sys.stderr)
            return EXIT_OK
        if args.command == "run":
            run.refuse_root_passphrase(os.environ)
            return run.serve(_settings(args, bind=args.bind, port=args.port))
        settings = _settings(args)
        return _run_async(run.dispatch, args, settings)
    except ConfigError as exc:
        print(f"gatepass-server: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except CommandError as exc:
        print(f"gatepass-server: {exc}", file=sys.stderr)
        return EXIT_FAIL

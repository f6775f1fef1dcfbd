"""``gatepass-gate``: the gate unit's command line (composition root entry)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from importlib.metadata import version
from pathlib import Path

THERMOMETER_MODELS = ("gy-mcu90614", "gy-mcu90615", "modbus-ir")
SCANNER_MODELS = ("grow-gm65", "grow-gm805", "grow-gm861", "line")


def build_parser() -> argparse.ArgumentParser:
    """The gate's argument parser; subcommands register here as they are built."""
    parser = argparse.ArgumentParser(
        prog="gatepass-gate",
        description="gatepass gate unit: reads the QR scanner and thermometer, decides offline, "
        "drives the lane, and reports to the server over MQTT.",
    )
    parser.add_argument("--version", action="version", version=version("gatepass"))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_probe(commands)
    _add_voice(commands)
    check = commands.add_parser(
        "check-config",
        help="validate a gate config file; print every error with its key",
        description="Exit 0 and print the effective config (secrets redacted) if valid; "
        "exit 1 and print one line per problem otherwise.",
    )
    check.add_argument("file", type=Path)
    status = commands.add_parser(
        "status",
        help="print the gate's outbox and its dead letters as JSON (read-only)",
        description="Reads the gate's store beside the running daemon: events waiting to be "
        "sent, and the events set aside as dead letters (refused by the server, or by the "
        "gate's own check before the commit), newest first, with their reason codes.",
    )
    status.add_argument("--config", type=Path, required=True, help="the gate's TOML file")
    status.add_argument("--limit", type=int, default=20, help="dead letters to list (newest)")
    run = commands.add_parser(
        "run",
        help="run the gate daemon",
        description="Run the lane until SIGTERM/SIGINT. Prints READY on stdout once started.",
    )
    run.add_argument("--config", type=Path, required=True, help="the gate's TOML file")
    run.add_argument("--sim-control", type=Path, help='hardware = "sim" only: control socket')
    run.add_argument("-v", "--verbose", action="store_true", help="debug logs on stderr")
    return parser


PRIVATE_UMASK = 0o077  # as the unit's UMask=0077: the gate's files are its user's alone


def run_gate(path: Path, control: Path | None, verbose: bool) -> int:
    """Validate the config, log it redacted, and run the daemon until stopped.

    The daemon sets its own umask first: started by hand or by another supervisor, its store
    (``gate.db``, the WAL with recent events and temperatures, the signed config with the
    phone-tag keys) and its data directory would otherwise be world-readable."""
    import asyncio

    os.umask(PRIVATE_UMASK)
    from device.app import main as gate_main
    from device.config import ConfigError, load, redacted

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{path}: {problem}", file=sys.stderr)
        return 1
    for section, values in redacted(settings).items():
        logging.getLogger("device").info("config [%s] %s", section, json.dumps(values))
    try:
        asyncio.run(gate_main(settings, control=control))
    except KeyboardInterrupt:
        return 0
    return 0


def check_config(path: Path) -> int:
    """Print every problem with its key (exit 1), or the redacted effective config (exit 0)."""
    from device.config import ConfigError, load, redacted

    try:
        settings = load(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{path}: {problem}", file=sys.stderr)
        return 1
    print(json.dumps(redacted(settings), indent=2, ensure_ascii=False))
    return 0


def show_status(path: Path, limit: int) -> int:
    """Print the store's report as JSON (exit 0), or why it cannot be read (exit 1)."""
    from device.config import ConfigError, load
    from device.store.db import StoreError
    from device.store.report import read_report

    try:
        settings = load(path)
        report = read_report(Path(settings.gate.data_dir) / "gate.db", limit=max(0, limit))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{path}: {problem}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"gatepass-gate status: {exc}", file=sys.stderr)
        return 1
    letters = [
        {
            "seq": d.seq,
            "event_id": d.event_id,
            "reason": d.reason.value,
            "refused_by": d.refused_by,
            "at": d.at,
            "payload_hex": d.payload.hex(),
        }
        for d in report.dead_letters
    ]
    summary = {
        "site": settings.gate.site,
        "gate": settings.gate.id,
        "outbox_depth": report.outbox_depth,
        "outbox_floor_seq": report.outbox_floor_seq,
        "next_seq": report.next_seq,
        "dead_letters": report.dead_letter_count,
        "recent_dead_letters": letters,
    }
    print(json.dumps(summary, indent=2))
    return 0


def _add_probe(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    probe = commands.add_parser(
        "probe",
        help="open a serial device as the gate would and print what it sends, as JSON lines",
        description="Prints one JSON object per line until interrupted (docs/hardware.md).",
    )
    probe.add_argument("kind", choices=("thermometer", "scanner"))
    probe.add_argument("--port", required=True, help="/dev/serial0, a udev name, a pty, socket://")
    probe.add_argument("--model", required=True, choices=THERMOMETER_MODELS + SCANNER_MODELS)
    probe.add_argument("--baud", type=int, help="first baud to try (default: the model's)")
    probe.add_argument("--offset", type=float, default=0.0, help="thermometer distance offset, C")
    probe.add_argument(
        "--mode",
        choices=("continuous", "query", "command"),
        help="thermometer: continuous|query; scanner: continuous|command",
    )
    probe.add_argument("--duration", type=float, help="stop after this many seconds")
    probe.add_argument("-v", "--verbose", action="store_true", help="debug logs on stderr")


VOICE_OUT = Path("/var/lib/gatepass/voice")  # the unit's state dir (deploy/gate/install.sh)


def _add_voice(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    voice = commands.add_parser(
        "voice",
        help="render the lane's voice clips, or play clips to test the speaker",
        description="docs/lane.md, Voice prompts.",
    )
    actions = voice.add_subparsers(dest="action", metavar="ACTION", required=True)
    render = actions.add_parser(
        "render",
        help="render every clip of the catalog with espeak-ng (unchanged clips are skipped)",
        description="Writes OUT/LANGUAGE/CLIP.wav and OUT/LANGUAGE/manifest.json.",
    )
    render.add_argument("--out", type=Path, default=VOICE_OUT, help=f"default {VOICE_OUT}")
    render.add_argument("--language", choices=("zh-CN", "en", "all"), default="all")
    say = actions.add_parser(
        "say",
        help="play clips through ALSA now, e.g. step.scan reason.expired",
        description="Looks each clip up in --recorded first, then --clips; exit 1 if one is "
        "missing or the speaker fails.",
    )
    say.add_argument("clip_ids", nargs="+", metavar="CLIP")
    say.add_argument("--language", choices=("zh-CN", "en"), default="zh-CN")
    say.add_argument("--device", default="default", help="ALSA device (aplay -D)")
    say.add_argument("--volume", type=int, default=80, choices=range(101), metavar="0-100")
    say.add_argument("--clips", type=Path, default=VOICE_OUT, help=f"default {VOICE_OUT}")
    say.add_argument("--recorded", type=Path, default=Path("/etc/gatepass/voice"))


def voice_render(out: Path, language: str) -> int:
    """Render the clip set and print what was written and skipped per language."""
    from device.voice.render import RenderError, render
    from protocol.wording import LANGUAGES

    languages = LANGUAGES if language == "all" else (language,)
    try:
        done = render(out, languages)
    except RenderError as exc:
        print(f"gatepass-gate voice render: {exc}", file=sys.stderr)
        return 1
    for result in done:
        print(
            f"{result.language}: {result.rendered} rendered, {result.skipped} unchanged "
            f"({out / result.language})"
        )
    return 0


def voice_say(args: argparse.Namespace) -> int:
    """Play the clips once through ALSA; exit 1 if a clip is missing or aplay failed."""
    import asyncio

    from device.voice.clips import ClipLibrary
    from device.voice.player import AlsaPlayer

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    library = ClipLibrary((args.recorded, args.clips))
    paths = library.resolve(args.clip_ids, args.language)
    if not paths:
        print(f"played 0 of {len(args.clip_ids)} clips: none found")
        return 1
    player = AlsaPlayer(args.device)

    async def say() -> None:
        player.play(paths, args.volume)
        await player.wait()

    asyncio.run(say())
    played = player.outcomes == ["finished"] and len(paths) == len(args.clip_ids)
    print(f"played {len(paths)} of {len(args.clip_ids)} clips: {player.outcomes[-1]}")
    return 0 if played else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gatepass-gate`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        return run_gate(args.config, args.sim_control, args.verbose)
    if args.command == "check-config":
        return check_config(args.file)
    if args.command == "status":
        return show_status(args.config, args.limit)
    if args.command == "voice":
        return voice_render(args.out, args.language) if args.action == "render" else voice_say(args)
    if args.command == "probe":
        models = THERMOMETER_MODELS if args.kind == "thermometer" else SCANNER_MODELS
        if args.model not in models:
            parser.error(f"{args.model} is not a {args.kind} model ({', '.join(models)})")
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        from device.hardware.probe import run_probe

        return run_probe(
            args.kind,
            args.model,
            args.port,
            baud=args.baud,
            offset_c=args.offset,
            mode=args.mode,
            duration=args.duration,
        )
    return 0

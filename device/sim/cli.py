"""``gatepass-sim``: device simulators for development, tests and the demo.

``gatepass-sim thermometer|scanner --model MODEL`` opens a pty, prints ``PTY /dev/pts/N`` as
its first line, and runs headless until SIGTERM or SIGINT (exit 0, the link removed), taking
commands on ``--control PATH`` (a Unix socket), one answer line per command; with
``--interactive`` it also reads commands from stdin until ``quit`` or end of input. Headless is
the default so a simulator started in the background (``&``, a unit, the demo) keeps running.
The command language is in docs/hardware.md.

``gatepass-sim send SOCKET COMMAND...`` sends one command line to a running simulator's (or a
simulated lane's, ``gatepass-gate run --sim-control``) control socket and prints the answer:
how a person drives the demo's lanes by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import socket
import socketserver
import sys
import threading
from importlib.metadata import version
from pathlib import Path
from types import FrameType

from device.sim.base import Simulator

THERMOMETER_MODELS = ("gy-mcu90614", "gy-mcu90615", "modbus-ir")
SCANNER_MODELS = ("grow-gm65", "grow-gm805", "grow-gm861", "line")


def build_parser() -> argparse.ArgumentParser:
    """The simulators' argument parser; each simulator registers a subcommand."""
    parser = argparse.ArgumentParser(
        prog="gatepass-sim",
        description="Simulated QR scanners and IR thermometers that speak the real serial "
        "protocols on a pseudo-terminal.",
    )
    parser.add_argument("--version", action="version", version=version("gatepass"))
    sub = parser.add_subparsers(dest="device", required=True)
    thermo = sub.add_parser("thermometer", help="an IR thermometer module")
    thermo.add_argument("--model", choices=THERMOMETER_MODELS, default="gy-mcu90614")
    thermo.add_argument("--rate", type=float, default=10.0, help="GY stream rate in Hz")
    thermo.add_argument("--mismatch", choices=("garbage", "silence"), default="garbage")
    thermo.add_argument("--no-autostart", action="store_true", help="GY: no stream at power-up")
    thermo.add_argument("--register-map", choices=("calex", "omega"), default="calex")
    thermo.add_argument("--slave", type=int, default=1, help="Modbus slave address")
    scanner = sub.add_parser("scanner", help="a QR scanner module")
    scanner.add_argument("--model", choices=SCANNER_MODELS, default="grow-gm65")
    for p in (thermo, scanner):
        p.add_argument("--baud", type=int, help="the module's baud (default: the model's)")
        p.add_argument("--link", type=Path, help="a symlink that follows the pty (udev-like name)")
        p.add_argument("--control", type=Path, help="also take commands on this Unix socket")
        p.add_argument("--seed", type=int, default=1, help="noise and garbage generator seed")
        p.add_argument(
            "-i",
            "--interactive",
            action="store_true",
            help="also read commands from stdin (quit or end of input stops)",
        )
    send = sub.add_parser("send", help="send one command to a running simulator's control socket")
    send.add_argument("socket", type=Path, help="the --control (or --sim-control) socket")
    send.add_argument("words", nargs="+", help="the command, e.g. present 'PG1:...' 0.5")
    return parser


SEND_TIMEOUT_S = 15.0  # a lane's ``hold`` takes 2.5 s; nothing answers slower than this


def send_command(path: Path, words: list[str]) -> int:
    """Send one command line, print the answer; exit 1 if the answer is an error."""
    line = words[0] if len(words) == 1 else shlex.join(words)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(SEND_TIMEOUT_S)
            sock.connect(str(path))
            sock.sendall(line.encode() + b"\n")
            with sock.makefile("rb") as answers:
                answer = answers.readline().decode("utf-8", "replace").strip()
    except OSError as exc:
        print(f"gatepass-sim send: cannot reach {path}: {exc}", file=sys.stderr)
        return 2
    print(answer)
    return 0 if answer.startswith("ok") else 1


def make_simulator(args: argparse.Namespace) -> Simulator:
    """The simulator the arguments describe (not yet started)."""
    from device.sim.modbus import ModbusSim
    from device.sim.scanner import ScannerSim
    from device.sim.thermometer import ThermometerSim

    announce = _announce
    if args.device == "scanner":
        return ScannerSim(args.model, baud=args.baud or 9600, link=args.link, on_pty=announce)
    if args.model == "modbus-ir":
        return ModbusSim(
            register_map=args.register_map,
            slave=args.slave,
            baud=args.baud or 9600,
            link=args.link,
            seed=args.seed,
            on_pty=announce,
        )
    return ThermometerSim(
        args.model,
        baud=args.baud,
        rate_hz=args.rate,
        mismatch=args.mismatch,
        autostart=not args.no_autostart,
        link=args.link,
        seed=args.seed,
        on_pty=announce,
    )


_print_lock = threading.Lock()


def _say(line: str) -> None:
    with _print_lock:
        print(line, flush=True)


def _announce(path: str) -> None:
    _say(f"PTY {path}")


class _ControlServer(socketserver.ThreadingUnixStreamServer):
    """The control socket; a connected client never holds up the exit (daemon, not joined)."""

    daemon_threads = True
    block_on_close = False


def _serve_control(sim: Simulator, path: Path) -> socketserver.BaseServer:
    """Answer command lines on a Unix socket, one answer line per command."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for raw in self.rfile:
                answer = sim.command(raw.decode("utf-8", "replace").strip())
                self.wfile.write(answer.encode() + b"\n")

    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = _ControlServer(str(path), Handler)
    threading.Thread(target=server.serve_forever, name="sim-control", daemon=True).start()
    return server


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Stopped(Exception):
    """SIGTERM or SIGINT arrived: stop the simulator cleanly."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Stopped(signal.Signals(signum).name)


def _read_stdin(sim: Simulator) -> None:
    """Answer the commands typed on stdin until ``quit`` or end of input."""
    for raw in sys.stdin:
        line = raw.strip()
        if line in ("quit", "exit"):
            return
        if line:
            _say(sim.command(line))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gatepass-sim`` console script."""
    args = build_parser().parse_args(argv)
    if args.device == "send":
        return send_command(args.socket, args.words)
    for sig in STOP_SIGNALS:
        signal.signal(sig, _on_signal)
    # The simulator's threads start with the stop signals blocked, so the kernel delivers them
    # to the main thread: one delivered to another thread would leave signal.pause() waiting
    # forever (the Python handler runs only when the main thread wakes).
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    sim = make_simulator(args)
    sim.start()
    server = _serve_control(sim, args.control) if args.control else None
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # one pending arrives here
        if args.interactive:
            _read_stdin(sim)
        else:
            while True:
                signal.pause()
    except _Stopped:
        pass
    finally:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)  # a second signal must not cut the cleanup short
        if server is not None:
            server.shutdown()
            server.server_close()
        sim.stop()
    return 0

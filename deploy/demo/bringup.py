"""Bringing the demo up: a fresh folder, the site, the broker, the server, the seeding, the
lanes; and the banner that says where to look. The order is in deploy.demo.run.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import logging
import os
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from deploy.demo import api as http
from deploy.demo import seed, site
from deploy.demo.lane import Lane
from deploy.demo.procs import ChildFailed, Processes, venv_bin
from deploy.demo.proxy import CutProxy
from deploy.demo.register import community

logger = logging.getLogger(__name__)

MARKER = ".gatepass-demo"  # only a folder holding this file is ever wiped
READY_TIMEOUT_S = 30.0
DISPLAY_PORT = 8091  # the lanes' displays on 8091, 8092, ... when free (README names them)
FIRST_BOOT_ALERTS = {"clock_untrusted", "revocation_stale"}


@dataclass(frozen=True)
class Options:
    """What ``make demo`` was asked for."""

    root: Path
    duration: float | None = None  # headless: stop after this many seconds, print the summary
    traffic: bool = True
    http_port: int = 0  # 0: 8080 if free, else any free port; else this one or fail
    cut_at_s: float = 14.0
    cut_s: float = 60.0
    seed: int = 8


@dataclass
class Demo:
    """The running demo: its folder, processes, proxy and sessions."""

    options: Options
    layout: site.Layout
    procs: Processes
    broker_port: int = 0
    proxy: CutProxy | None = None
    base: str = ""
    admin: http.Api | None = None
    staff: http.Api | None = None
    cast: seed.Cast | None = None
    lanes: dict[str, Lane] = field(default_factory=dict)
    displays: dict[str, int] = field(default_factory=dict)  # gate id -> its lane display's port
    started: float = field(default_factory=time.monotonic)
    lock: IO[bytes] | None = None  # held while the demo runs: one demo per folder


class FolderRefused(RuntimeError):
    """The demo's folder is another demo's right now, or not a demo folder at all."""


def say(line: str) -> None:
    """One line for the person watching (stdout, flushed)."""
    print(line, flush=True)


def free_port(preferred: int = 0) -> int:
    """``preferred`` if nothing listens there on loopback, else a free port."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fresh_folder(root: Path) -> IO[bytes]:
    """Wipe the previous demo's folder (only if it is one, and no demo runs in it) and start an
    empty one. Returns the open lock file: the folder is this run's while it stays open."""
    lock = root.with_name(root.name + ".lock").open("ab")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise FolderRefused(f"another demo is running in {root}; stop it first") from None
    if root.exists():
        if any(root.iterdir()) and not (root / MARKER).exists():
            raise FolderRefused(f"{root} exists and is not a demo folder; not wiping it")
        shutil.rmtree(root)
    root.mkdir(mode=0o755, parents=True)
    root.chmod(0o755)  # the broker, dropping to its own user, must pass through it
    (root / MARKER).write_text("made by `make demo`; wiped at its next start\n")
    return lock


async def start_broker(demo: Demo, conf: Path) -> None:
    """The project's mosquitto configuration on its own loopback port."""
    program = shutil.which("mosquitto", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if program is None:
        raise ChildFailed("mosquitto is not installed: make demo installs it (as root)")
    await demo.procs.start("mosquitto", [program, "-c", str(conf)])
    await _poll(lambda: _port_open(demo.broker_port), "mosquitto", demo)


async def start_server(demo: Demo) -> None:
    """``gatepass-server run`` with the MQTT link on, as an installation runs it."""
    port = demo.options.http_port or free_port(8080)  # a port asked for is used or fails
    demo.base = f"http://127.0.0.1:{port}"
    env = {
        "GATEPASS_MQTT_HOST": "127.0.0.1",
        "GATEPASS_MQTT_PORT": str(demo.broker_port),
        "GATEPASS_GATE_OFFLINE_AFTER_S": "30",  # the cut lane shows as offline on the dashboard
    }
    argv = [venv_bin("gatepass-server"), "run", "--data", str(demo.layout.data)]
    await demo.procs.start("server", [*argv, "--bind", "127.0.0.1", "--port", str(port)], env=env)
    await _poll(lambda: _healthy(demo.base), "server", demo)


async def start_lane(demo: Demo, gate: site.Gate) -> None:
    """The lane's two simulators on ptys (udev-like links), then its gate daemon."""
    root = demo.layout.lane(gate.id)
    root.mkdir(parents=True, exist_ok=True)
    for kind, model, link in (
        ("scanner", "grow-gm65", "scanner"),
        ("thermometer", "gy-mcu90614", "thermo"),
    ):
        argv = [
            venv_bin("gatepass-sim"),
            kind,
            "--model",
            model,
            "--link",
            str(root / link),
            "--control",
            str(root / f"{link}.sock"),
        ]
        child = await demo.procs.start(f"{gate.id}-{link}", argv, stdout_pipe=True)
        await child.first_line(READY_TIMEOUT_S)  # PTY /dev/pts/N
    argv = [venv_bin("gatepass-gate"), "run", "--config", str(demo.layout.gate_file(gate.id))]
    child = await demo.procs.start(
        f"gate-{gate.id}", [*argv, "--sim-control", str(root / "lane.sock")], stdout_pipe=True
    )
    if (line := await child.first_line(READY_TIMEOUT_S)) != "READY":
        raise ChildFailed(f"gate {gate.id} said {line!r}; see {child.log_path}")
    for sock in ("scanner.sock", "thermo.sock", "lane.sock"):
        await _poll(functools.partial(_exists, root / sock), f"{gate.id} {sock}", demo)
    demo.lanes[gate.id] = Lane(gate.id, root)


async def start(demo: Demo) -> None:
    """Everything up to "the dashboard is live"."""
    opts, layout = demo.options, demo.layout
    demo.lock = fresh_folder(layout.root)
    people = community(opts.seed)
    demo.broker_port, proxy_port = free_port(), free_port()
    demo.displays = {g.id: free_port(DISPLAY_PORT + i) for i, g in enumerate(site.GATES)}
    say(f"building the site in {layout.root} (operator commands; logs in {layout.logs})")
    one_time = await site.build(layout, people, (demo.broker_port, proxy_port), demo.displays)
    stage(demo, "site built")
    await start_broker(demo, layout.broker / "mosquitto.conf")
    await start_server(demo)
    stage(demo, "broker and server up")
    demo.cast = await asyncio.to_thread(seed.seed, demo.base, one_time, people, opts.seed)
    stage(demo, "passwords, passes, observation, visitors set through the API")
    demo.admin = admin = http.Api(demo.base)
    await asyncio.to_thread(admin.login, seed.ADMIN_USER, seed.ADMIN_PASSWORD)
    demo.staff = http.Api(demo.base)
    await asyncio.to_thread(demo.staff.login, seed.STAFF_USER, seed.STAFF_PASSWORD)
    write_hand_sheet(demo)
    demo.proxy = CutProxy(proxy_port, demo.broker_port)
    await demo.proxy.start()
    await asyncio.gather(*(start_lane(demo, g) for g in site.GATES))
    await _poll(lambda: _gates_online(demo), "gates online", demo)
    stage(demo, "lanes up and online")


def stage(demo: Demo, what: str) -> None:
    """Log how long the start has taken so far (make demo must start in under a minute)."""
    logger.info("%s after %.1f s", what, time.monotonic() - demo.started)


def ack_first_boot(admin: http.Api, within: float = 10.0) -> None:
    """A new gate reports an untrusted clock and no revocation list until its first sync;
    staff acknowledge those alerts with a note, as on a real site's first morning."""
    expected = len(FIRST_BOOT_ALERTS) * len(site.GATES)
    acked = 0
    deadline = time.monotonic() + within
    while acked < expected and time.monotonic() < deadline:
        for alert in admin.all_pages("/api/v1/alerts", state="open"):
            if alert["kind"] in FIRST_BOOT_ALERTS:
                note = {"note": "first start of a newly provisioned gate; synced since"}
                admin.call("POST", f"/api/v1/alerts/{alert['id']}/ack", note)
                acked += 1
        time.sleep(0.5)


def write_hand_sheet(demo: Demo) -> None:
    """``passes.tsv``: people and their pass texts, for driving a lane by hand."""
    assert demo.cast is not None
    rows = ["zone\tlabel\tname\trole\tphone_last4\tpass"]
    holders = [*demo.cast.residents, demo.cast.guard, *demo.cast.visitors]
    for h in holders:
        rows.append(f"{h.zone}\t{h.label}\t{h.name}\t{h.role}\t{h.last4 or ''}\t{h.text}")
    (demo.layout.root / "passes.tsv").write_text("\n".join(rows) + "\n")


def banner(demo: Demo) -> None:
    """What to open, how to sign in, how to drive a lane, how to stop."""
    rel, sim = _short(demo.layout.root), _short(Path(venv_bin("gatepass-sim")))
    lane = f"{rel}/lanes/main-in"
    # Browsers keep the server's Secure session cookie over plain http only for "localhost".
    ui = demo.base.replace("127.0.0.1", "localhost")
    lines = [
        "",
        f"gatepass demo is running (started in {time.monotonic() - demo.started:.1f} s)",
        f"  staff UI   {ui}/ui/   (dashboard; gate console: {ui}/ui/console)",
        f"  admin      {seed.ADMIN_USER} / {seed.ADMIN_PASSWORD}",
        f"  staff      {seed.STAFF_USER} / {seed.STAFF_PASSWORD}",
        "  lanes      " + ", ".join(f"{g.id} ({g.name}, {g.zone})" for g in site.GATES),
        *(
            f"  display    {g.id}: http://localhost:{demo.displays[g.id]}/   (the lane's screen)"
            for g in site.GATES
        ),
        f"  by hand    {sim} send {lane}/scanner.sock present "
        f'"$(sed -n 2p {rel}/passes.tsv | cut -f6)"',
        f"             {sim} send {lane}/thermo.sock person 36.5 2   (step in front)",
        f"             {sim} send {lane}/lane.sock keys 1234   (or: press, hold, opened)",
        f"  files      {rel}/passes.tsv (people, phone digits, passes), {rel}/logs/",
        "  Ctrl-C stops everything."
        if demo.options.duration is None
        else f"  headless: stopping after {demo.options.duration:.0f} s",
        "",
    ]
    say("\n".join(lines))


async def _poll(check: Callable[[], bool], what: str, demo: Demo) -> None:
    """Until ``check`` is true (in a thread: it may block briefly); ChildFailed after 30 s."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not await asyncio.to_thread(check):
        demo.procs.check_alive()
        if time.monotonic() > deadline:
            raise ChildFailed(
                f"{what} not ready in {READY_TIMEOUT_S:.0f} s; logs: {demo.layout.logs}"
            )
        await asyncio.sleep(0.1)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _healthy(base: str) -> bool:
    try:
        http.wait_healthy(base, 0)
    except OSError:
        return False
    return True


def _short(path: Path) -> str:
    """A path as the person typed it: relative when below the current folder."""
    return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)


def _exists(path: Path) -> bool:
    return path.exists()


def all_online(api: http.Api) -> bool:
    health = api.call("GET", "/api/v1/gate-health")
    return all((h["status"] or {}).get("state") == "online" for h in health)


def _gates_online(demo: Demo) -> bool:
    assert demo.admin is not None
    return all_online(demo.admin)

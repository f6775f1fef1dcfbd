"""The fault soak (``make chaos``): a site built from scratch with the project's own commands,
three real gate daemons storming scans, the real server and broker, and a seeded schedule of
faults; one table at the end.

The site is ``tests.faults.harness.build`` (``init``, ``broker-config``, ``gate add``) with a
third lane, ``side-in``, whose broker connection goes through a ``CutProxy`` (the partition).
Each lane is ``gatepass-gate run`` on scanner and thermometer simulators
(``tests.faults.daemon.Lane``), storming sixteen residents' passes; the server is
``gatepass-server run`` in its own process; the broker is mosquitto on the generated config.

Fault kinds, one of each in a shuffled first round, then shuffled rounds until the duration is
up: ``broker-kill`` (SIGKILL, down a few seconds, start again), ``broker-freeze`` (SIGSTOP, then
SIGCONT), ``server-kill`` (SIGKILL, then start again), ``gate-kill`` (SIGKILL one daemon, its
simulators stay, start it again), ``partition`` (the proxied lane's network cut, then restored)
and ``device-pull`` (one lane's scanner unplugged, then replugged). Faults never overlap: the
next one starts after the previous one healed (or after ``RECOVERY_LIMIT_S``).

Recovery of a fault = from its end (restart, SIGCONT, network back, replug) to the first event
that an affected lane decided after that end stored on the server (its seq above the gate's
last committed seq at the end). At the end the storm stops, the outboxes drain, and the
server's SQLite is compared with what each gate committed: decided = sum of last seqs; lost =
seqs 1..last not stored; duplicated = rows beyond the first per (gate, seq) or per event id.
RSS slope = a least-squares fit of /proc/PID/status VmRSS over the longest-lived incarnation of
each process, past its first WARMUP_S; tracebacks = lines containing "Traceback" in each
process's stderr or log.

``python -m tests.faults.chaos --duration SECONDS [--seed N] [--out FILE] [--gate-defaults]``
prints the table (and the faults as they happen); its exit status is 1 if an event was lost or
stored twice, a process died or logged a traceback, or the outboxes did not drain.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import IO

from deploy.demo.proxy import CutProxy
from protocol.messages import LaneDirection
from tests.faults.daemon import Lane
from tests.faults.harness import GATES, LinkSite, build
from tests.faults.test_daemon_storm import prepare
from tests.support.mosquitto import free_port

PROXIED = "side-in"  # the lane behind the cut proxy
SITE_GATES = GATES | {PROXIED: (1, LaneDirection.IN)}
LANES = tuple(SITE_GATES)
KINDS = ("broker-kill", "broker-freeze", "server-kill", "gate-kill", "partition", "device-pull")
HOLD_S = {  # how long each kind of fault lasts (uniform between the bounds)
    "broker-kill": (1.0, 4.0),
    "broker-freeze": (2.0, 8.0),
    "server-kill": (1.0, 5.0),
    "gate-kill": (1.0, 4.0),
    "partition": (3.0, 12.0),
    "device-pull": (2.0, 6.0),
}
GAP_S = (2.0, 5.0)  # quiet time after a fault healed, before the next one
RECOVERY_LIMIT_S = 90.0  # a fault not healed by then counts as unhealed; the soak goes on
DRAIN_LIMIT_S = 120.0
SAMPLE_S = 1.0
WARMUP_S = 20.0  # RSS samples left out of the fit at the start of each process's life


@dataclass
class Fault:
    """One injected fault: what, where, for how long, and how long it took to heal."""

    kind: str
    target: str  # a lane, or "" for the broker and the server
    hold_s: float
    at_s: float = 0.0  # since the soak started
    recovery_s: float | None = None  # None: not healed within RECOVERY_LIMIT_S


@dataclass
class Result:
    """What one soak measured."""

    seed: int
    duration_s: float  # the schedule's length as asked
    quick: bool = True  # gates tuned to reconnect and resend within 2 s
    ran_s: float = 0.0  # from the first fault's schedule to the storm's stop
    faults: list[Fault] = field(default_factory=list)
    decided: dict[str, int] = field(default_factory=dict)  # per gate: last committed seq
    stored: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    duplicated: dict[str, int] = field(default_factory=dict)
    drained: bool = False
    rss: dict[str, tuple[float, float, int, int]] = field(default_factory=dict)  # slope, span
    tracebacks: dict[str, int] = field(default_factory=dict)
    alive: dict[str, bool] = field(default_factory=dict)

    def recoveries(self, kind: str) -> list[float | None]:
        return [f.recovery_s for f in self.faults if f.kind == kind]

    def worst(self, kind: str) -> float | None:
        """The worst recovery of a kind (None if one never healed, or none was injected)."""
        got = self.recoveries(kind)
        return None if not got or None in got else max(r for r in got if r is not None)


def slope(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of (seconds, KB) samples, in KB/s."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    mk = sum(k for _, k in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    return sum((t - mt) * (k - mk) for t, k in samples) / var if var else 0.0


def vm_rss_kb(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


class Server:
    """``gatepass-server run`` in its own process, stderr appended to a log file."""

    def __init__(self, site: LinkSite, log: Path) -> None:
        self.site, self.log_path = site, log
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "GATEPASS_DATA": str(self.site.settings.data_dir),
            "GATEPASS_MQTT_HOST": "127.0.0.1",
            "GATEPASS_MQTT_PORT": str(self.site.broker.port),
            "GATEPASS_RETENTION_INTERVAL_S": "0",
            "GATEPASS_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "server", "run", "--port", str(free_port())]
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=self._log)

    def end(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None


class Soak:
    """The running site: broker, server, proxy, lanes, the storm and the samplers."""

    def __init__(self, site: LinkSite, root: Path, proxy: CutProxy, quick: bool) -> None:
        self.site, self.root, self.proxy = site, root, proxy
        self.server = Server(site, root / "server.log")
        self.lanes = {
            g: Lane.from_gate_file(
                site.gate_file(g),
                root / "lanes" / g,
                broker_port=proxy.listen_port if g == PROXIED else None,
                quick=quick,
            )
            for g in LANES
        }
        self.db = site.settings.data_dir / "registry.db"
        self.stop = threading.Event()
        self.rss: dict[tuple[str, int], list[tuple[float, int]]] = {}
        self.t0 = time.monotonic()

    def pids(self) -> dict[str, int]:
        out = {f"gate {g}": lane.proc.pid for g, lane in self.lanes.items() if lane.proc}
        if self.server.proc is not None:
            out["server"] = self.server.proc.pid
        if self.site.broker.process is not None:
            out["broker"] = self.site.broker.process.pid
        return out

    def sample(self) -> None:
        """Every second: each process's VmRSS, keyed by role and pid (restarts split it)."""
        while not self.stop.wait(SAMPLE_S):
            now = time.monotonic() - self.t0
            for role, pid in self.pids().items():
                kb = vm_rss_kb(pid)
                if kb is not None:
                    self.rss.setdefault((role, pid), []).append((now, kb))

    def stored_max(self) -> dict[str, int]:
        """The highest seq the server stored per gate (its own SQLite, read only)."""
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as conn:
            conn.execute("PRAGMA busy_timeout = 5000")
            rows = conn.execute("SELECT gate, MAX(seq) FROM events GROUP BY gate").fetchall()
        return {g: int(s) for g, s in rows}

    async def healed(self, lanes: list[str], marks: dict[str, int], start: float) -> float | None:
        """Seconds from ``start`` until a lane in ``lanes`` has an event above its mark stored."""
        while time.monotonic() - start < RECOVERY_LIMIT_S:
            try:
                got = await asyncio.to_thread(self.stored_max)
            except sqlite3.OperationalError:  # locked or mid-recovery: try again
                got = {}
            if any(got.get(g, 0) > marks[g] for g in lanes):
                return time.monotonic() - start
            await asyncio.sleep(0.2)
        return None

    async def inject(self, fault: Fault) -> None:
        """Apply the fault, hold it, end it; then measure how long until scans are stored."""
        broker, hold = self.site.broker, fault.hold_s
        lane = self.lanes.get(fault.target)
        affected = [fault.target] if fault.target else list(self.lanes)
        if fault.kind == "broker-kill":
            await asyncio.to_thread(broker.kill)
        elif fault.kind == "broker-freeze":
            assert broker.process is not None
            broker.process.send_signal(signal.SIGSTOP)
        elif fault.kind == "server-kill":
            await asyncio.to_thread(self.server.end, signal.SIGKILL)
        elif fault.kind == "gate-kill":
            assert lane is not None
            await asyncio.to_thread(lane.kill)
        elif fault.kind == "partition":
            self.proxy.cut()
        elif fault.kind == "device-pull":
            assert lane is not None
            lane.scanner.command("unplug")
        await asyncio.sleep(hold)
        marks = {g: (await asyncio.to_thread(self.lanes[g].outbox))[1] for g in affected}
        ended = time.monotonic()  # the fault ends: restart, SIGCONT, network back, replug
        if fault.kind == "broker-kill":
            await asyncio.to_thread(broker.start)
        elif fault.kind == "broker-freeze":
            assert broker.process is not None
            broker.process.send_signal(signal.SIGCONT)
        elif fault.kind == "server-kill":
            self.server.start()
        elif fault.kind == "gate-kill":
            assert lane is not None
            await asyncio.to_thread(lane.spawn)
        elif fault.kind == "partition":
            self.proxy.restore()
        elif fault.kind == "device-pull":
            assert lane is not None
            lane.scanner.command("replug")
        fault.recovery_s = await self.healed(affected, marks, ended)

    async def drain(self) -> bool:
        """Until every outbox is empty (everything acknowledged), or DRAIN_LIMIT_S."""
        deadline = time.monotonic() + DRAIN_LIMIT_S
        while time.monotonic() < deadline:
            depths = [(await asyncio.to_thread(lane.outbox))[0] for lane in self.lanes.values()]
            if not any(depths):
                return True
            await asyncio.sleep(0.5)
        return False


def schedule(rng: random.Random) -> Callable[[], Fault]:
    """Faults in shuffled rounds of every kind; targets and hold times drawn from ``rng``."""
    queue: list[str] = []

    def next_fault() -> Fault:
        if not queue:
            queue.extend(rng.sample(KINDS, len(KINDS)))
        kind = queue.pop(0)
        target = {
            "gate-kill": rng.choice(LANES),
            "device-pull": rng.choice(LANES),
            "partition": PROXIED,
        }.get(kind, "")
        return Fault(kind, target, round(rng.uniform(*HOLD_S[kind]), 1))

    return next_fault


def count(path: Path | None, lines: list[str] | None = None) -> int:
    """Lines containing "Traceback" in a log file or a list of captured lines."""
    text = lines if lines is not None else []
    if path is not None and path.exists():
        text = path.read_text(errors="replace").splitlines()
    return sum("Traceback" in line for line in text)


async def soak(root: Path, duration_s: float, seed: int, quick: bool = True) -> Result:
    """Build the site in ``root``, run the storm and the faults for ``duration_s``, measure.

    ``quick``: the gates reconnect and resend after at most 2 s (as the other fault tests);
    otherwise they keep ``gate add``'s defaults (reconnect back-off up to 30 s, resend 15 s)."""
    rng = random.Random(seed)
    logging.getLogger("deploy.demo.proxy").setLevel(logging.ERROR)  # refusals while cut
    result = Result(seed=seed, duration_s=duration_s, quick=quick)
    site = await build(root / "site", SITE_GATES)
    texts = await prepare(site, LANES)
    site.broker.start()
    proxy = CutProxy(free_port(), site.broker.port)
    await proxy.start()
    run = Soak(site, root, proxy, quick)
    sampler = threading.Thread(target=run.sample, daemon=True)
    storms: asyncio.Future[list[int]] | None = None
    try:
        run.server.start()
        for lane in run.lanes.values():
            await asyncio.to_thread(lane.start)
        for lane in run.lanes.values():
            await asyncio.to_thread(lane.wait_configured, 60.0)
        sampler.start()
        storms = asyncio.gather(
            *(asyncio.to_thread(lane.storm, texts, run.stop) for lane in run.lanes.values())
        )
        start = time.monotonic()
        next_fault = schedule(rng)
        while time.monotonic() - start < duration_s or len(result.faults) < len(KINDS):
            await asyncio.sleep(rng.uniform(*GAP_S))
            fault = next_fault()
            fault.at_s = round(time.monotonic() - start, 1)
            result.faults.append(fault)
            await run.inject(fault)
            label = f"{fault.kind} {fault.target}".strip()
            healed = "not healed" if fault.recovery_s is None else f"{fault.recovery_s:.1f} s"
            print(f"[{fault.at_s:6.1f}s] {label} for {fault.hold_s} s: healed in {healed}")
        result.ran_s = round(time.monotonic() - start, 1)
        run.stop.set()
        await storms
        result.alive = {
            f"gate {g}": lane.proc is not None and lane.proc.poll() is None
            for g, lane in run.lanes.items()
        }
        result.alive["server"] = run.server.proc is not None and run.server.proc.poll() is None
        broker = site.broker.process
        result.alive["broker"] = broker is not None and broker.poll() is None
        result.drained = await run.drain()
    finally:
        run.stop.set()
        if storms is not None and not storms.done():
            storms.cancel()
            with contextlib.suppress(BaseException):
                await storms
        for lane in run.lanes.values():
            if lane.proc is not None:
                await asyncio.to_thread(lane.stop)
        await asyncio.to_thread(run.server.end, signal.SIGTERM)
        await proxy.close()
        await asyncio.to_thread(site.broker.stop)
    await account(run, result)
    return result


async def account(run: Soak, result: Result) -> None:
    """Compare the server's store with what each gate committed; RSS slopes; tracebacks."""
    with contextlib.closing(sqlite3.connect(run.db)) as conn:
        rows = conn.execute("SELECT gate, seq, event_id FROM events").fetchall()
    for g, lane in run.lanes.items():
        _depth, last = lane.outbox()
        seqs = [s for gate, s, _ in rows if gate == g]
        ids = [i for gate, _, i in rows if gate == g]
        result.decided[g] = last
        result.stored[g] = len(seqs)
        result.lost[g] = len(set(range(1, last + 1)) - set(seqs))
        result.duplicated[g] = max(len(seqs) - len(set(seqs)), len(ids) - len(set(ids)))
        result.tracebacks[f"gate {g}"] = count(None, lane.log)
    result.tracebacks["server"] = count(run.server.log_path)
    result.tracebacks["broker"] = count(run.site.broker.log_path)
    longest: dict[str, list[tuple[float, int]]] = {}
    for (role, _pid), samples in run.rss.items():
        span = samples[-1][0] - samples[0][0]
        if role not in longest or span > longest[role][-1][0] - longest[role][0][0]:
            longest[role] = samples
    for role, life in sorted(longest.items()):
        warm = [s for s in life if s[0] - life[0][0] >= WARMUP_S]
        fit = warm if len(warm) >= 10 else life
        span = fit[-1][0] - fit[0][0]
        result.rss[role] = (slope(fit), span, fit[0][1], fit[-1][1])


def _s(value: float | None) -> str:
    return "not healed" if value is None else f"{value:.1f} s"


def render(result: Result) -> str:
    """The soak's table, as Markdown."""
    total = {k: sum(getattr(result, k).values()) for k in ("decided", "stored", "lost")}
    dup = sum(result.duplicated.values())
    lines = [
        f"Seed {result.seed}; {result.duration_s:.0f} s asked, {result.ran_s:.0f} s of storm "
        f"and faults; {len(result.faults)} faults; outboxes drained at the end: "
        f"{'yes' if result.drained else 'NO'}; gate reconnect and resend: "
        f"{'at most 2 s (quick)' if result.quick else 'the defaults (up to 30 s, 15 s)'}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| decided (events the gates committed) | {total['decided']} |",
        f"| stored (events on the server) | {total['stored']} |",
        f"| lost | {total['lost']} |",
        f"| duplicated | {dup} |",
    ]
    for kind in KINDS:
        got = [r for r in result.recoveries(kind) if r is not None]
        n, healed = len(result.recoveries(kind)), len(got)
        med = _s(median(got)) if got else "-"
        worst = _s(result.worst(kind)) if n else "-"
        lines.append(
            f"| recovery after {kind} (×{n}, healed {healed}): median / worst | {med} / {worst} |"
        )
    for role, (kb_s, span, first, last) in result.rss.items():
        lines.append(
            f"| RSS slope, {role} | {kb_s:+.2f} KB/s over {span:.0f} s ({first} → {last} KB) |"
        )
    for role, n in result.tracebacks.items():
        lines.append(f"| tracebacks, {role} | {n} |")
    dead = [role for role, up in result.alive.items() if not up]
    lines.append(
        f"| processes alive at the end | {'all' if not dead else 'NOT ' + ', '.join(dead)} |"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.chaos", description=__doc__)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of faults")
    parser.add_argument("--seed", type=int, default=None, help="the schedule's random seed")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    parser.add_argument(
        "--gate-defaults",
        action="store_true",
        help="keep the gates' default reconnect back-off and resend delay (not 2 s)",
    )
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    with tempfile.TemporaryDirectory(prefix="gatepass-chaos-") as tmp:
        result = asyncio.run(soak(Path(tmp), args.duration, seed, not args.gate_defaults))
    table = render(result)
    print(table, end="")
    if args.out is not None:
        args.out.write_text(table)
    ok = (
        not sum(result.lost.values())
        and not sum(result.duplicated.values())
        and all(result.alive.values())
        and result.drained
        and not sum(result.tracebacks.values())
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

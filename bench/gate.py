"""Gate benchmarks (design.md 7): scan-to-relay, backlog drain, revocation list, memory, start.

Everything runs the real daemon against a real mosquitto with the pty simulators and a
stand-in server (tests/support), on this machine. Each latency is reported next to its floor
measured in the same run: one Ed25519 verify plus one fsync, sampled between decisions.

Scan to relay: the scanner simulator writes a real pass's QR frame on the pty and reports the
time of its last byte; the measure ends when the relay's MockFactory pin goes high (after the
outbox commit). Drain: 100,000 events decided offline are put in the gate's store, the daemon
starts against a stand-in server in its own process that acks what it receives, and a person
scans every 0.1 s until the outbox is empty. Issue 4 asks for that live p99 to be reported;
the aim is the steady target (5 ms), which a drain on this 2-core machine, with the broker
and the stand-in server beside the gate, does not always keep (docs/gate.md, pacing).
Memory and cold start use the ``gatepass-gate run`` process itself (RSS from /proc).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from bench._gate_lane import BenchLane, Floor, open_lane
from device.core.events import Stamp, to_wire
from device.core.model import EventDraft
from device.store.outbox import GateStore
from protocol.keys import kid_for
from protocol.messages import LaneDirection, Mode
from protocol.reasons import ReasonCode
from protocol.revocation import apply_full, open_full, pack_refs
from tests.support.gate_toml import write_gate_toml
from tests.support.site import TestSite

DECISIONS = int(os.environ.get("GATEPASS_BENCH_DECISIONS", "1000"))
BACKLOG = int(os.environ.get("GATEPASS_BENCH_BACKLOG", "100000"))
LIVE_GAP_S = 0.1


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0-1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _opened_since(pin: Any, before: int) -> bool:
    """The relay pin changed since ``before`` state changes and is high now (``changes`` counts
    them all; ``states`` keeps only the last ones, device/hardware/gpio/devices.py)."""
    return int(pin.changes) > before and bool(pin.state)


async def scan_to_relay(lane: BenchLane, count: int, floor: Floor) -> list[float]:
    """Milliseconds from the QR frame's last byte on the pty to the relay pin going high (and
    a floor sample after each)."""
    pin = lane.relay_pin
    assert lane.gate is not None
    out: list[float] = []
    for _ in range(count):
        text = lane.site.pass_text()
        before = int(pin.changes)
        answer = await asyncio.to_thread(lane.scanner.command, f"send {shlex.quote(text)}")
        sent = float(answer.rsplit(" ", 1)[1])  # the simulator's clock: last byte written
        await lane.until(partial(_opened_since, pin, before))
        out.append((pin._last_change - sent) * 1000)
        await lane.until(lambda: not pin.state)
        floor.sample()
    return out


def backlog_events(count: int) -> Iterator[list[Any]]:
    """Ready-made decision events in batches, as a day offline at a busy lane leaves them."""
    stamp = Stamp(
        site="gw01",
        gate="east-in",
        boot_id="ab" * 16,
        at_ms=int(time.time() * 1000),
        clock_trusted=True,
        lane=LaneDirection.IN,
        offline=True,
        mode=Mode.NORMAL,
    )
    draft = EventDraft(granted=True, reason=ReasonCode.OK, pass_ref="01" * 8)
    seq = 1
    while seq <= count:
        n = min(2000, count - seq + 1)
        yield [to_wire(draft, stamp, seq=seq + i, event_id=str(uuid.uuid4())) for i in range(n)]
        seq += n


async def fill_outbox(path: Path, count: int) -> None:
    """Put ``count`` events in a fresh gate store, as if decided offline."""
    store = await GateStore.open(path, max_events=count + 10, reseed=1)
    for batch in backlog_events(count):
        await store.record(batch)
    await store.close()


async def drain(count: int, floor: Floor) -> tuple[float, list[float]]:
    """Seconds until ``count`` buffered events are acked, and live scan latencies meanwhile."""
    with tempfile.TemporaryDirectory() as tmp:
        await fill_outbox(Path(tmp) / "gate-data" / "gate.db", count)
        async with open_lane(Path(tmp), start=False) as lane, acker(lane):
            started = time.monotonic()
            await lane.start()
            live: list[float] = []
            assert lane.gate is not None
            while lane.gate.rt.store.depth > 0:  # a person every 0.1 s for the whole drain
                live += await scan_to_relay(lane, 1, floor)
                await asyncio.sleep(LIVE_GAP_S)
            return time.monotonic() - started, live


@contextlib.asynccontextmanager
async def acker(lane: BenchLane) -> AsyncIterator[None]:
    """Swap the in-process stand-in server for one in its own process (the trust it published
    stays retained on the broker), so the gate has its interpreter to itself while draining."""
    lane.server.stop()
    broker = lane.server
    args = ["-m", "tests.support.fake_server", broker.host, str(broker.port), broker.password]
    proc = subprocess.Popen(  # noqa: ASYNC220 - once, before the measurement starts
        [sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    assert proc.stdout.readline().strip() == "READY"
    try:
        yield
    finally:
        proc.stdin.close()
        proc.wait(30)
        proc.stdout.close()


def revocation_apply(entries: int) -> float:
    """Seconds to verify and apply a signed full list of ``entries`` revoked passes."""
    site = TestSite()
    refs = {os.urandom(8) for _ in range(entries)}
    data = site.full(1, refs=refs)
    keys = {kid_for(site.revlist_key): site.revlist_key.public_key()}
    start = time.perf_counter()
    state = apply_full(None, open_full(data, keys, site=site.site))
    elapsed = time.perf_counter() - start
    assert len(state.refs) == entries
    assert pack_refs(refs)
    return elapsed


@contextmanager
def daemon_process(config: Path) -> Iterator[tuple[subprocess.Popen[str], float]]:
    """The daemon as its own process: yields it and the seconds it took to print READY."""
    exe = Path(sys.executable).parent / "gatepass-gate"
    start = time.monotonic()
    argv = [str(exe), "run", "--config", str(config)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    ready = time.monotonic() - start
    try:
        assert line == "READY", f"daemon said {line!r}"
        yield proc, ready
    finally:
        proc.terminate()
        proc.wait(15)
        proc.stdout.close()


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def start_and_memory() -> tuple[float, float]:
    """Median cold start to READY over 5 starts, and resident memory after 20 decisions."""
    with tempfile.TemporaryDirectory() as tmp:
        async with open_lane(Path(tmp), in_process=False) as lane:
            config = write_gate_toml(Path(tmp) / "gate.toml", lane.toml)
            starts = []
            for _ in range(5):
                with daemon_process(config) as (proc, ready):
                    starts.append(ready)
                    for _ in range(20):
                        await asyncio.to_thread(
                            lane.scanner.command, f"send {shlex.quote(lane.site.pass_text())}"
                        )
                        await asyncio.sleep(0.25)
                    memory = rss_mb(proc.pid)
            return statistics.median(starts), memory


async def measure() -> list[dict[str, Any]]:
    """Every gate row of the benchmark table."""
    with tempfile.TemporaryDirectory() as tmp:
        steady, busy = Floor(Path(tmp) / "floor-steady"), Floor(Path(tmp) / "floor-drain")
        async with open_lane(Path(tmp)) as lane:
            latencies = await scan_to_relay(lane, DECISIONS, steady)
        seconds, live = await drain(BACKLOG, busy)
        steady.close()
        busy.close()
    start_s, memory = await start_and_memory()
    apply_s = revocation_apply(100_000)
    floor_txt, busy_txt = steady.text(), busy.text()
    n, m = len(latencies), len(live)
    during = "live scan to relay during the drain"
    rate = f"{BACKLOG / seconds:,.0f} events/s"
    return [
        row(f"scan to relay, p50 ({n} decisions)", pct(latencies, 0.5), "ms", "", floor_txt),
        row(f"scan to relay, p99 ({n} decisions)", pct(latencies, 0.99), "ms", "≤ 5 ms", floor_txt),
        row(f"drain {BACKLOG:,} offline events, all acked", seconds, "s", "≤ 60 s", rate),
        row(f"{during}, p50 ({m} scans)", pct(live, 0.5), "ms", "", busy_txt),
        row(f"{during}, p99 ({m} scans)", pct(live, 0.99), "ms", "reported (aim ≤ 5 ms)", busy_txt),
        row("revocation full list of 100,000 applied", apply_s, "s", "≤ 1 s"),
        row("daemon resident memory", memory, "MB", "≤ 60 MB"),
        row("cold start to READY (median of 5)", start_s, "s", "≤ 3 s"),
    ]


def row(
    name: str, value: float, unit: str, target: str, baseline: str | None = None
) -> dict[str, Any]:
    """One row of the benchmark table (``python -m bench`` prints them)."""
    return {"name": name, "value": value, "unit": unit, "target": target, "baseline": baseline}


def run() -> list[dict[str, Any]]:
    """``python -m bench gate``."""
    return asyncio.run(measure())

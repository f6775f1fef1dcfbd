"""Issue 15, item 3: a simulated lane's memory stays flat however long it runs.

A demo or training lane runs for days on gpiozero's mock pins, whose state histories grew
without end under the keypad's scan (85 KB a second). The soak drives the real decision path
in-process (``LaneFlow.handle``: verify, ``decide``, the commit to the SQLite outbox, the
relay) on the mock pins with the keypad scanning, acking the outbox as a server would, and
measures the resident set after a warm-up and at the end. No broker: the link never connects
(the decisions are made offline, as during an outage), and nothing here needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from device import app
from device.actuators import Hold
from device.app import Gate
from device.config import validate
from device.core.model import Outcome
from device.hardware.clock import SystemClock
from device.hardware.gpio.devices import PIN_HISTORY
from protocol.claims import PassKind
from tests.support.gate_toml import sim_lane_sections
from tests.support.site import TestSite

GATE = "east-in"
SCANS = int(os.environ.get("GATEPASS_SOAK_SCANS", "50000"))
WARM_UP = 3000
PASSES = 300  # distinct people (the state maps hold one entry per pass)
ACK_EVERY = 500
MAX_GROWTH_KB = 5 * 1024


def rss_kb() -> int:
    """The process's resident set now, in KiB (/proc/self/statm counts pages)."""
    resident = int(Path("/proc/self/statm").read_text().split()[1])
    return resident * resource.getpagesize() // 1024


@contextlib.asynccontextmanager
async def offline_lane(tmp: Path, site: TestSite) -> AsyncIterator[Gate]:
    """A built simulated lane (mock pins, keypad scanning) with its trust applied, and the
    relay owner running on a short pulse; no broker, no serial devices."""
    raw = sim_lane_sections(
        tmp,
        site=site.site,
        gate=GATE,
        root_key=site.root_hex,
        host="127.0.0.1",
        port=9,  # discard: nothing listens, and the link is never started
        password="not-used-here",
    )
    gate = await app.build(validate(raw), SystemClock())
    trust = gate.rt.trust
    await trust.on_manifest(site.manifest(1))
    await trust.on_full(site.full(1))
    policy = {
        "temperature_required": False,  # no thermometer in the loop: the decision path only
        "phone_check_resident": "never",
        "apb_minutes": 0,  # one person may pass again and again
        "relay_pulse_ms": 200,
    }
    await trust.on_config(site.config(GATE, 1, **policy))
    gate.rt.os_synced = True  # the clock is vouched for (no timesync task runs here)
    try:
        yield gate
    finally:
        gate.rt.relay.relay.off()
        await gate.rt.signals.close()
        gate.gpio.close()
        await gate.rt.store.close()


async def relay_stand_in(gate: Gate) -> None:
    """The relay owner's part, without the pulse's wall time (50,000 people at 0.2 s each
    would take hours): every request moves the real relay pin on and off."""
    owner = gate.rt.relay
    while True:
        request = await owner.requests.get()
        if isinstance(request, Hold):
            continue
        owner.opened += 1
        owner.relay.hold()
        owner.relay.off()


async def soak(gate: Gate, passes: list[str], scans: int, start: int) -> None:
    """``scans`` people through the lane, each decision committed; acks as a server sends."""
    for i in range(start, start + scans):
        decision = await gate.lane.handle(passes[i % len(passes)])
        assert decision.outcome == Outcome.GRANT, decision
        if i % ACK_EVERY == ACK_EVERY - 1:
            await gate.rt.store.ack(gate.rt.store.next_seq - 1)
            await gate.rt.store.checkpoint()
            await asyncio.sleep(0)  # the keypad's keys and the relay reach the loop


@pytest.mark.slow
@pytest.mark.timeout(300)  # about 70 s alone; it may share the cores in make test
async def test_rss_stays_flat_over_50000_scans(tmp_path: Path) -> None:
    site = TestSite(now=int(time.time()))
    passes = [site.pass_text(PassKind.RESIDENT) for _ in range(PASSES)]
    async with offline_lane(tmp_path, site) as gate:
        relay = asyncio.create_task(relay_stand_in(gate))
        try:
            await soak(gate, passes, WARM_UP, 0)
            started, before = time.monotonic(), rss_kb()
            await soak(gate, passes, SCANS - WARM_UP, WARM_UP)
            elapsed, after = time.monotonic() - started, rss_kb()
        finally:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
        rows = gate.gpio.factory.pin(gate.rt.settings.pins.keypad_rows[0])
        assert rows.changes > len(rows.states)  # the keypad scanned all along
        assert gate.lane.decisions == SCANS
        assert gate.rt.relay.opened == SCANS
    grown = after - before
    print(f"{SCANS - WARM_UP} scans in {elapsed:.1f} s: RSS {before} -> {after} KiB")
    assert grown < MAX_GROWTH_KB, f"RSS grew {grown} KiB over {SCANS - WARM_UP} scans"


async def test_mock_pin_histories_stay_bounded_under_the_keypad_scan(tmp_path: Path) -> None:
    site = TestSite(now=int(time.time()))
    async with offline_lane(tmp_path, site) as gate:
        pins = gate.rt.settings.pins
        assert pins.keypad_rows is not None
        rows = [gate.gpio.factory.pin(p) for p in pins.keypad_rows]
        deadline = time.monotonic() + 15
        while min(row.changes for row in rows) <= PIN_HISTORY + 10:  # 200 changes a second
            assert time.monotonic() < deadline, "the keypad is not scanning"
            await asyncio.sleep(0.2)
        assert all(len(row.states) == PIN_HISTORY for row in rows)
        last = rows[0].states[-1]
        assert last.state is rows[0].state  # the newest change is kept, the oldest gave way
        relay = gate.gpio.factory.pin(pins.relay)
        for _ in range(3):
            gate.rt.relay.relay.hold()
            gate.rt.relay.relay.off()
        assert [s.state for s in relay.states][-6:] == [True, False] * 3
        assert relay.changes == 6

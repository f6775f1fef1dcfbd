"""One out-of-range thermometer reading must not wedge a lane's delivery (issue 14 item 6).

The attack as filed: ``gatepass-sim send thermo.sock raw 32767 2510`` (the int16 limit a
GY-MCU90614 sends for "no value"), then a scan. The real gate daemon (``gatepass-gate run`` on a
file ``gate add`` wrote) runs on simulators over ptys, the server's real ingest behind the
mosquitto ``broker-config`` configured, and after the bad reading ordinary people scan and
step in. Every event must then be acknowledged: the gate's outbox drains, the server holds each
seq once and its ack window reaches the last one.

The second attack is the gate a wedge has already caught: its outbox holds the event the old
code wrote (``null`` temperatures) and, for good measure, a payload that is not JSON at all (a
flipped byte on the SD card). After the upgrade the server refuses both by seq, the gate moves
them to its dead-letter table (its status and ``gatepass-gate status`` say so), and the window
moves on.

Then, on the in-process lane of tests/gate (simulators on ptys, a real broker, a stand-in
server that decodes strictly): every raw value of reliability-security.md 9.1 item 15 the GY
protocol can carry ends in a decision whose event decodes, never a NaN; and malformed refusals
in an ack (item 18) change nothing at a running gate, while a real one moves its row.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import shlex
import socketserver
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from device.sim.cli import _serve_control
from protocol import messages
from protocol.messages import Ack, LaneDirection, Refusal
from protocol.reasons import RefusalCode
from protocol.topics import TopicKind
from server.services.context import CLI_ACTOR
from server.services.gates import policy as gate_policy
from server.services.live import Hub
from server.services.passes import issuing as passes
from server.services.registry import places as registry
from server.services.registry import residents
from server.store.schema import events
from server.store.schema_gates import dead_letters, gate_ingest, gate_status
from tests.faults.daemon import GATE_CLI, Lane
from tests.faults.harness import SITE, LinkSite, build, running_link
from tests.gate.conftest import Lane as GateLane
from tests.gate.conftest import lane_factory

__all__ = ["lane_factory"]  # the in-process lane of tests/gate, fixture for the last test

pytestmark = [pytest.mark.slow, pytest.mark.broker, pytest.mark.timeout(150)]
GATE = "east-in"
SIM_CLI = Path(sys.executable).with_name("gatepass-sim")
POLICY = {
    "temperature_required": True,
    "phone_check_resident": "never",
    "relay_pulse_ms": 200,
    "apb_minutes": 0,
    "apb_logical": False,
    "step_timeout_s": 3,
}
PEOPLE = ("张伟", "王芳", "李娜")


async def passes_for(site: LinkSite) -> list[str]:
    """The lane's policy (temperature required, nothing else asked) and three residents' passes."""
    env = site.env()
    try:
        await gate_policy.set_policy(env, CLI_ACTOR, GATE, POLICY)
        fields = registry.HouseholdFields(zone_id=1, building="1", unit="1", room="101")
        household = await registry.save_household(env, CLI_ACTOR, None, fields)
        texts = []
        for name in PEOPLE:
            person = residents.ResidentFields(household_id=household.id, name=name, role="family")
            resident = await residents.save(env, CLI_ACTOR, None, person)
            texts.append((await passes.issue_resident(env, CLI_ACTOR, resident.id)).text)
        return texts
    finally:
        await env.db.close()


def sim_send(control: Path, *words: str) -> str:
    """``gatepass-sim send CONTROL WORDS...`` as a person at the demo would type it."""
    done = subprocess.run(
        [str(SIM_CLI), "send", str(control), *words],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


class SimLane:
    """The daemon on its simulators; the thermometer also answers on ``root/thermo.sock``, the
    control socket ``gatepass-sim send`` talks to."""

    def __init__(self, site: LinkSite, root: Path) -> None:
        self.lane = Lane.from_gate_file(site.gate_file(GATE), root)
        self.control = root / "thermo.sock"
        self.db = root / "data" / "gate.db"
        self._server: socketserver.BaseServer | None = None

    def start(self) -> None:
        self.lane.start()
        self._server = _serve_control(self.lane.thermo, self.control)
        self.lane.wait_configured()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.lane.proc is not None:
            self.lane.stop()
            self.lane.proc = None


def present(lane: Lane, text: str) -> None:
    assert lane.scanner.command(f"present {shlex.quote(text)} 0.4").startswith("ok")


async def drained(site: LinkSite, lane: Lane, within: float = 40.0) -> tuple[int, int]:
    """Until the gate's outbox is empty and the server acked its last seq; (last seq, acked)."""
    deadline = time.monotonic() + within
    while True:
        depth, last = await asyncio.to_thread(lane.outbox)
        acked = await acked_seq(site)
        if depth == 0 and last > 0 and acked == last:
            return last, acked
        if time.monotonic() > deadline:
            raise AssertionError(
                f"wedged: {depth} events still in the gate's outbox, last seq {last}, "
                f"server acked {acked}\n" + "\n".join(lane.log[-15:])
            )
        await asyncio.sleep(0.2)


async def rows(site: LinkSite, query: Any) -> list[dict[str, Any]]:
    env = site.env()
    try:
        async with env.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]
    finally:
        await env.db.close()


async def acked_seq(site: LinkSite) -> int:
    got = await rows(site, sa.select(gate_ingest).where(gate_ingest.c.gate == GATE))
    return int(got[0]["acked_seq"]) if got else 0


async def scan_ordinary_people(lane: Lane, texts: list[str]) -> None:
    """Each person steps in front of the thermometer and shows their pass."""
    for text in texts:
        assert lane.thermo.command("person 35.6 3.0").startswith("ok")
        await asyncio.sleep(0.3)
        present(lane, text)
        await asyncio.sleep(2.0)


async def test_an_out_of_range_reading_then_a_scan_never_stops_the_ack_window(
    tmp_path: Path,
) -> None:
    site = await build(tmp_path)
    texts = await passes_for(site)
    site.broker.start()
    sim = SimLane(site, tmp_path / "lane")
    try:
        async with running_link(site, Hub()):
            await asyncio.to_thread(sim.start)
            # the attack: the module's "no value" limit in the object field, then a scan
            assert sim_send(sim.control, "raw", "32767", "2510").startswith("ok")
            await asyncio.sleep(0.5)
            present(sim.lane, texts[0])
            await asyncio.sleep(POLICY["step_timeout_s"] + 2.5)
            assert sim_send(sim.control, "raw", "auto").startswith("ok")
            await scan_ordinary_people(sim.lane, texts[1:])
            last, acked = await drained(site, sim.lane)
        stored = await rows(
            site, sa.select(events).where(events.c.gate == GATE).order_by(events.c.seq)
        )
        letters = await rows(site, sa.select(dead_letters))
    finally:
        await asyncio.to_thread(sim.stop)
        site.broker.kill()
    assert acked == last
    assert [r["seq"] for r in stored] == list(range(1, last + 1))  # every seq, each once
    decisions = [r for r in stored if r["kind"] == "decision"]
    assert len(decisions) == len(PEOPLE)
    # the bad reading is "no valid reading": a device fault, never a NaN made into a number
    assert (decisions[0]["granted"], decisions[0]["reason"]) == (False, "device_fault")
    assert decisions[0]["temperatures"] is None
    assert [(r["granted"], r["reason"]) for r in decisions[1:]] == [(True, "ok")] * 2
    for row in decisions[1:]:
        assert row["body_c"] is not None
        assert 35.0 < row["body_c"] < 37.3
    assert letters == []  # nothing the gate sent had to be refused


def old_null_event(seq: int) -> bytes:
    """What the previous version committed after ``raw 32767 2510``: NaN encoded as null."""
    body = {
        "alarm": None,
        "at": int(time.time() * 1000),
        "boot_id": "ab" * 16,
        "clock_trusted": True,
        "event_id": str(uuid.uuid4()),
        "gate": GATE,
        "granted": False,
        "kind": "decision",
        "lane": LaneDirection.IN.value,
        "mode": "normal",
        "note": None,
        "offline": False,
        "operator": None,
        "pass_kind": "resident",
        "pass_ref": "0123456789abcdef",
        "reason": "implausible_temperature",
        "schema": 1,
        "seq": seq,
        "site": SITE,
        "temperatures": [{"ambient_c": 25.1, "body_c": None, "object_c": None, "offset_c": 0.0}],
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def garbage(seq: int) -> bytes:
    """A row whose bytes rotted on the SD card: not JSON any more."""
    return b'{"seq": ' + str(seq).encode() + b", \xff\xfe broken"


def plant(db: Path, makers: list[Callable[[int], bytes]]) -> list[int]:
    """Put rows into a stopped gate's outbox as the old code (or a bad sector) left them."""
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()
        first = int(row[0]) if row else 1
        seqs = list(range(first, first + len(makers)))
        conn.executemany(
            "INSERT INTO outbox VALUES (?, ?, ?, ?)",
            [
                (s, str(uuid.uuid4()), "ab" * 16, make(s))
                for s, make in zip(seqs, makers, strict=True)
            ],
        )
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('next_seq', ?)", (seqs[-1] + 1,))
    return seqs


def gate_dead_letters(db: Path) -> list[tuple[int, str]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [(int(s), str(r)) for s, r in conn.execute("SELECT seq, reason FROM dead_letters")]


def gate_cli_status(config: Path) -> dict[str, Any]:
    """``gatepass-gate status --config FILE`` beside the running daemon, as staff run it."""
    done = subprocess.run(
        [str(GATE_CLI), "status", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_a_gate_wedged_by_the_old_code_recovers_after_the_upgrade(tmp_path: Path) -> None:
    site = await build(tmp_path)
    texts = await passes_for(site)
    site.broker.start()
    sim = SimLane(site, tmp_path / "lane")
    try:
        async with running_link(site, Hub()):
            await asyncio.to_thread(sim.start)
            await asyncio.to_thread(sim.stop)
            null_seq, garbage_seq = plant(sim.db, [old_null_event, garbage])
            await asyncio.to_thread(sim.start)
            await scan_ordinary_people(sim.lane, texts[:2])
            last, acked = await drained(site, sim.lane)
            await asyncio.sleep(1.0)  # the status after the move (debounced 0.3 s)
            status = await rows(site, sa.select(gate_status).where(gate_status.c.gate == GATE))
            shown = await asyncio.to_thread(gate_cli_status, sim.lane.config)
        stored = await rows(site, sa.select(events.c.seq).where(events.c.gate == GATE))
        letters = await rows(site, sa.select(dead_letters).order_by(dead_letters.c.seq))
    finally:
        await asyncio.to_thread(sim.stop)
        site.broker.kill()
    assert acked == last
    refused = {null_seq: "wrong_type", garbage_seq: "malformed_message"}
    assert sorted(r["seq"] for r in stored) == [s for s in range(1, last + 1) if s not in refused]
    assert [(r["seq"], r["reason"]) for r in letters] == sorted(refused.items())
    assert sorted(gate_dead_letters(sim.db)) == sorted(refused.items())
    assert status[0]["dead_letters"] == 2  # in the status the gate publishes
    assert shown["dead_letters"] == 2  # and in ``gatepass-gate status`` at the gate
    assert shown["outbox_depth"] == 0
    assert sorted(
        (d["seq"], d["reason"], d["refused_by"]) for d in shown["recent_dead_letters"]
    ) == [
        (null_seq, "wrong_type", "server"),
        (garbage_seq, "malformed_message", "server"),
    ]


# reliability-security.md 9.1 item 15, through the GY protocol: each raw pair the module can
# send, what the lane decides, and whether the event carries readings (never NaN or null)
RAW_INPUTS = [
    ((32767, 2510), "device_fault", False),  # the int16 "no value" limit (the issue's attack)
    ((-32768, 2510), "device_fault", False),
    ((3450, 32767), "device_fault", False),  # the limit in the ambient field
    ((-7001, 2510), "device_fault", False),  # below the sensor's range
    ((3450, -4001), "device_fault", False),  # ambient below the module's range
    ((3450, 8501), "device_fault", False),  # ambient above the module's range
    ((0, 2510), "no_temperature", False),  # 0 C: a real value, nobody in front of it
    ((9990, 2510), "implausible_temperature", True),  # 99.9 C: real, not a person's
]


async def test_every_bad_thermometer_value_is_no_valid_reading_and_every_event_decodes(
    lane_factory: Callable[..., Any],
) -> None:
    lane: GateLane = await lane_factory(policy={"step_timeout_s": 2})
    for (obj, amb), reason, with_readings in RAW_INPUTS:
        assert lane.thermometer.command(f"raw {obj} {amb}").startswith("ok")
        await asyncio.sleep(0.3)
        lane.present(lane.site.pass_text())
        decision = await lane.decision(within=20)  # decoded as the server decodes it
        assert (decision.granted, decision.reason.value) == (False, reason), (obj, amb)
        assert bool(decision.temperatures) == with_readings, (obj, amb)
        for reading in decision.temperatures:
            assert math.isfinite(reading.body_c)
        assert lane.thermometer.command("raw auto").startswith("ok")
    lane.step_in()  # and an ordinary person goes through
    lane.present(lane.site.pass_text())
    assert (await lane.decision()).reason.value == "ok"
    await lane.until(lambda: lane.gate.rt.store.depth == 0)  # every event acked
    assert lane.gate.rt.store.dead == 0


async def test_malformed_refusals_change_nothing_and_a_real_one_moves_its_row(
    lane_factory: Callable[..., Any],
) -> None:
    """reliability-security.md 9.1 item 18 for the ack's new field, at a running gate."""
    lane: GateLane = await lane_factory(policy={"temperature_required": False})
    lane.server.ack = False  # the rows stay in the outbox until this test settles them
    for _ in range(2):
        lane.present(lane.site.pass_text())
        await lane.decision()
    store, router = lane.gate.rt.store, lane.gate.router
    first = store.next_seq - 2
    topic = lane.server.gate_topic(GATE, TopicKind.ACKS)
    head = f'"at":1,"gate":"{GATE}","schema":1,"site":"{lane.site.site}"'
    bad = [
        f'{{{head},"seq":{first},"refused":[{{"seq":{first + 1},"reason":"wrong_type"}}]}}',
        f'{{{head},"seq":{first},"refused":[{{"seq":{first},"reason":"because"}}]}}',
        f'{{{head},"seq":{first},"refused":[{{"seq":{first}}}]}}',
        f'{{{head},"seq":{first},"refused":[]}}',
        f'{{{head},"seq":{first},"refused":[{{"seq":NaN,"reason":"wrong_type"}}]}}',
    ]
    refused_before = router.refused
    for payload in bad:
        lane.server.publish(topic, payload.encode())
    await lane.until(lambda: router.refused >= refused_before + len(bad))
    assert (store.depth, store.dead) == (2, 0)  # nothing moved, nothing acked
    good = Ack(
        site=lane.site.site,
        gate=GATE,
        seq=first,
        at=1,
        refused=[Refusal(seq=first, reason=RefusalCode.WRONG_TYPE)],
    )
    lane.server.publish(topic, messages.encode(good))
    await lane.until(lambda: store.dead == 1)
    (letter,) = await store.dead_letters()
    assert (letter.seq, letter.reason, letter.refused_by) == (
        first,
        RefusalCode.WRONG_TYPE,
        "server",
    )
    await lane.until(lambda: store.depth == 1)  # the next one still waits for its ack
    assert [p.seq for p in await store.pending(0, 10)] == [first + 1]

"""The issue's storms with the real gate daemon: two ``gatepass-gate run`` processes on
simulated scanners, provisioned by ``gate add``, against the broker ``broker-config`` wrote and
the server; the broker is SIGKILLed three times during one storm, the server process once
during another. At the end the server holds, for each gate, exactly the seqs the gate committed
(1..N), each once, and the outboxes are empty."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from protocol.messages import LaneDirection
from protocol.topics import TopicKind, site_topic
from server.services.context import CLI_ACTOR
from server.services.gates import policy as gate_policy
from server.services.live import Hub
from server.services.passes import issuing as passes
from server.services.registry import places as registry
from server.services.registry import residents
from server.store.schema import events
from tests.faults.daemon import Lane
from tests.faults.harness import GATES as SITE_GATES
from tests.faults.harness import SITE, LinkSite, build, running_link, until
from tests.faults.test_server_crash import WATCH, start_server
from tests.support.mqtt import TestClient

pytestmark = [pytest.mark.slow, pytest.mark.broker, pytest.mark.timeout(150)]
KILLS = 3
EVENTS_BETWEEN_KILLS = 8
GATES = ("east-in", "east-out")
PEOPLE = [f"居民{i}" for i in range(16)]  # a pass repeats every 2.4 s: past the 1.5 s debounce
STORM_POLICY = {
    "temperature_required": False,
    "phone_check_resident": "never",
    "relay_pulse_ms": 200,
    "apb_minutes": 0,
    "apb_logical": False,
}


async def prepare(site: LinkSite, gates: tuple[str, ...] = GATES) -> list[str]:
    """The storm's policy on both lanes (no temperature, no digits, no anti-passback, short
    relay pulses), and sixteen residents' passes: both lanes grant them, and each gate also
    records its peer's grants (presence), as on a real site."""
    env = site.env()
    texts = []
    try:
        for gate in gates:
            await gate_policy.set_policy(env, CLI_ACTOR, gate, STORM_POLICY)
        household = await registry.save_household(
            env,
            CLI_ACTOR,
            None,
            registry.HouseholdFields(zone_id=1, building="1", unit="1", room="101"),
        )
        for name in PEOPLE:
            resident = await residents.save(
                env,
                CLI_ACTOR,
                None,
                residents.ResidentFields(household_id=household.id, name=name, role="family"),
            )
            texts.append((await passes.issue_resident(env, CLI_ACTOR, resident.id)).text)
    finally:
        await env.db.close()
    return texts


async def stored_per_gate(site: LinkSite) -> dict[str, list[tuple[int, str]]]:
    env = site.env()
    try:
        async with env.db.read() as conn:
            rows = (
                await conn.execute(sa.select(events.c.gate, events.c.seq, events.c.event_id))
            ).all()
    finally:
        await env.db.close()
    out: dict[str, list[tuple[int, str]]] = {}
    for gate, seq, event_id in rows:
        out.setdefault(gate, []).append((seq, event_id))
    return out


async def drained(lanes: list[Lane], inbox: asyncio.Queue[dict[str, object]]) -> None:
    """Until every outbox is empty (re-checked at each stored event, or every second)."""
    async with asyncio.timeout(60):
        while any([(await asyncio.to_thread(lane.outbox))[0] for lane in lanes]):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await inbox.get()


async def test_real_daemons_through_three_broker_kills(tmp_path: Path) -> None:
    site = await build(tmp_path)
    texts = await prepare(site)
    site.broker.start()
    lanes = [Lane.from_gate_file(site.gate_file(g), tmp_path / "lanes" / g) for g in GATES]
    hub, stop = Hub(), threading.Event()
    try:
        async with running_link(site, hub) as link, hub.subscribe() as inbox:
            for lane in lanes:
                await asyncio.to_thread(lane.start)
            for lane in lanes:  # the storm's policy, not the file's defaults
                await asyncio.to_thread(lane.wait_configured)
            producing = asyncio.gather(
                *(asyncio.to_thread(lane.storm, texts, stop) for lane in lanes)
            )
            for _ in range(KILLS):
                for _event in range(EVENTS_BETWEEN_KILLS):
                    await until(inbox, lambda n: n["type"] == "event", within=30)
                site.broker.kill()
                site.broker.start()
                await until(inbox, lambda n: n == {"type": "link", "up": True}, within=20)
            for _event in range(EVENTS_BETWEEN_KILLS):  # the storm goes on after the last one
                await until(inbox, lambda n: n["type"] == "event", within=30)
            stop.set()
            shown = await producing
            await drained(lanes, inbox)
            assert link.mqtt.state.connects == KILLS + 1
        per_gate = await stored_per_gate(site)
        for lane in lanes:
            depth, last_seq = lane.outbox()
            assert depth == 0
            got = sorted(per_gate.get(lane.gate, []))
            assert [s for s, _ in got] == list(range(1, last_seq + 1))  # every seq, each once
            assert len({i for _, i in got}) == len(got)
            assert last_seq > 0
        assert min(shown) > 0
    finally:
        stop.set()
        for lane in lanes:
            if lane.proc is not None:
                lane.stop()
        site.broker.kill()


def outboxes_empty(lanes: list[Lane], within: float = 60.0) -> None:
    """Until every lane's outbox is empty (all acknowledged)."""
    deadline = time.monotonic() + within
    while any(lane.outbox()[0] for lane in lanes):
        if time.monotonic() > deadline:
            raise TimeoutError("outboxes not drained")
        time.sleep(0.5)


class Watcher:
    """A spare gate account watching the server's status (its own account: a second connection
    with a running gate's would take that gate's session over; no gate may read events), and
    the lanes' own outboxes for the decisions they record."""

    def __init__(self, site: LinkSite, lanes: list[Lane]) -> None:
        self.client = TestClient(site.broker.host, site.broker.port, WATCH, site.passwords[WATCH])
        self.lanes = lanes
        assert self.client.connect() == "Success"
        self.client.subscribe(str(site_topic(SITE, TopicKind.SERVER_STATUS)))

    def recorded(self) -> int:
        """Events the lanes have recorded so far (their last seqs)."""
        return sum(lane.outbox()[1] for lane in self.lanes if lane.proc is not None)

    def wait(self, *, events: int = 0, online: bool = False, within: float = 30.0) -> None:
        """Until the lanes recorded ``events`` more events, and (if asked) the server said
        online."""
        deadline = time.monotonic() + within
        target = self.recorded() + events
        while online:
            got = self.client.get(max(0.1, deadline - time.monotonic()))
            online = b'"state":"online"' not in got.payload
        while self.recorded() < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the lanes recorded {self.recorded()} of {target} events")
            time.sleep(0.1)


async def test_real_daemons_through_a_server_kill(tmp_path: Path) -> None:
    site = await build(tmp_path, SITE_GATES | {WATCH: (1, LaneDirection.IN)})
    texts = await prepare(site)
    site.broker.start()
    lanes = [Lane.from_gate_file(site.gate_file(g), tmp_path / "lanes" / g) for g in GATES]
    stop = threading.Event()
    watcher = await asyncio.to_thread(Watcher, site, lanes)
    server = start_server(site)
    try:
        await asyncio.to_thread(watcher.wait, online=True)
        for lane in lanes:
            await asyncio.to_thread(lane.start)
        for lane in lanes:
            await asyncio.to_thread(lane.wait_configured)
        producing = asyncio.gather(*(asyncio.to_thread(lane.storm, texts, stop) for lane in lanes))
        await asyncio.to_thread(watcher.wait, events=EVENTS_BETWEEN_KILLS)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        await asyncio.to_thread(watcher.wait, events=EVENTS_BETWEEN_KILLS)  # the server is dead
        server = start_server(site)
        await asyncio.to_thread(watcher.wait, online=True, events=EVENTS_BETWEEN_KILLS)
        stop.set()
        await producing
        await asyncio.to_thread(outboxes_empty, lanes)
        server.send_signal(signal.SIGTERM)
        server.wait(20)
        per_gate = await stored_per_gate(site)
        for lane in lanes:
            _depth, last_seq = lane.outbox()
            got = sorted(per_gate.get(lane.gate, []))
            assert [s for s, _ in got] == list(range(1, last_seq + 1))
            assert len({i for _, i in got}) == len(got)
    finally:
        stop.set()
        watcher.client.close()
        if server.poll() is None:
            server.kill()
            server.wait(10)
        for lane in lanes:
            if lane.proc is not None:
                lane.stop()
        site.broker.kill()

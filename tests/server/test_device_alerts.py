"""``device_fault`` follows the devices a gate reports (real SQLite): raised by a status that
lists a device faulty or offline, or by the gate's ``device_offline`` alarm, and resolved by
itself when the status says ok again, when ``device_recovered`` arrives, or when an online
status no longer lists the device as failing (the store is listed only while it fails)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from protocol.messages import AlarmKind, DeviceHealth, DeviceState, GateStatus, Lifecycle, Mode
from server.app import Env
from server.records import EventData
from server.services.alerts import rules
from server.services.ingest.model import BatchResult
from server.services.ingest.status import store_status
from server.store import gate_state
from server.store.schema_gates import alerts
from tests.server.conftest import Site

GATE = "east-in"


def _status(*devices: DeviceHealth, state: Lifecycle = Lifecycle.ONLINE) -> GateStatus:
    return GateStatus(
        site="gw01",
        gate=GATE,
        state=state,
        at=1,
        boot_id="cd" * 16,
        software="t",
        mode=Mode.NORMAL,
        clock_trusted=True,
        outbox_depth=0,
        devices=list(devices),
    )


def _alarm(kind: AlarmKind, note: str, seq: int) -> EventData:
    return EventData(
        event_id=f"e{seq}", gate=GATE, seq=seq, at_ms=1, kind="alarm", granted=None,
        reason=None, pass_ref=None, body_c=None, temperatures=None, received_at=1,
        boot_id=None, clock_trusted=True, lane=None, offline=False, mode=None,
        alarm=kind.value, holder_kind=None, operator=None, note=note, flag=None,
    )  # fmt: skip


async def _faults(env: Env) -> dict[str, bool]:
    """device_fault alerts by subject: True while unresolved."""
    async with env.db.read() as conn:
        query = sa.select(alerts).where(alerts.c.kind == "device_fault")
        return {r.subject: r.resolved_at is None for r in await conn.execute(query)}


async def _report(env: Env, status: GateStatus) -> None:
    async with env.db.write() as conn:
        await store_status(conn, status, now=env.clock.now(), backlog=1000, result=BatchResult())


def test_a_status_raises_then_resolves_device_fault(site: Site) -> None:
    lost = DeviceHealth(
        name="scanner",
        state=DeviceState.OFFLINE,
        detail="device path gone (unplugged): /dev/ttyACM0",
        since=1_800_000_000_000,
        last_error="device path gone (unplugged): /dev/ttyACM0",
    )

    async def scenario(env: Env) -> list[Any]:
        await _report(env, _status(lost, DeviceHealth(name="relay", state=DeviceState.OK)))
        raised = await _faults(env)
        async with env.db.read() as conn:
            kept = await gate_state.get_status(conn, gate=GATE)
        back = DeviceHealth(name="scanner", state=DeviceState.OK, since=2, last_error="x")
        await _report(env, _status(back))
        return [raised, kept, await _faults(env)]

    raised, kept, after = site.run(scenario)
    assert raised == {"scanner": True}
    assert kept is not None
    scanner = next(d for d in kept.devices if d["name"] == "scanner")
    assert scanner["since"] == 1_800_000_000_000  # kept for the gate's page
    assert scanner["last_error"].startswith("device path gone")
    assert after == {"scanner": False}


def test_the_alarms_and_the_status_share_one_alert_per_device(site: Site) -> None:
    async def scenario(env: Env) -> list[dict[str, bool]]:
        seen = []
        async with env.db.write() as conn:
            note = "scanner: no reply for 1.2 s"
            await rules.on_event(conn, _alarm(AlarmKind.DEVICE_OFFLINE, note, 1), now=10)
        lost = DeviceHealth(name="scanner", state=DeviceState.OFFLINE, detail="no reply")
        await _report(env, _status(lost))  # the same alert, not a second one
        seen.append(await _faults(env))
        async with env.db.write() as conn:
            note = "scanner: grow-gm805 at 9600 baud"
            await rules.on_event(conn, _alarm(AlarmKind.DEVICE_RECOVERED, note, 2), now=20)
        seen.append(await _faults(env))
        return seen

    lost, recovered = site.run(scenario)
    assert lost == {"scanner": True}
    assert recovered == {"scanner": False}


def test_a_device_no_longer_listed_as_failing_is_resolved_when_online(site: Site) -> None:
    full = DeviceHealth(name="store", state=DeviceState.FAULT, detail="cannot write: disk full")

    async def scenario(env: Env) -> list[dict[str, bool]]:
        await _report(env, _status(full))
        seen = [await _faults(env)]
        await _report(env, _status(state=Lifecycle.OFFLINE))  # the Will: no news of the store
        seen.append(await _faults(env))
        await _report(env, _status(DeviceHealth(name="scanner", state=DeviceState.OK)))
        seen.append(await _faults(env))
        return seen

    assert site.run(scenario) == [{"store": True}, {"store": True}, {"store": False}]

"""The gate's retained status: built from the runtime, published on change and as a heartbeat."""

from __future__ import annotations

import asyncio
import logging
from importlib.metadata import version

import msgspec

from device.link.mqtt import MqttClient
from device.runtime import Runtime
from protocol import topics
from protocol.messages import DeviceHealth, DeviceState, GateStatus, Lifecycle, encode
from protocol.topics import TopicKind

logger = logging.getLogger(__name__)

HEARTBEAT_S = 60.0
DEBOUNCE_S = 0.3


def status_topic(rt: Runtime) -> str:
    """This gate's status topic."""
    return str(topics.gate_topic(rt.settings.gate.site, rt.settings.gate.id, TopicKind.STATUS))


async def build(rt: Runtime, state: Lifecycle) -> GateStatus:
    """The status document as of now."""
    applied = rt.trust.applied
    devices = [_device(rt, name, health, detail) for name, (health, detail) in rt.health.items()]
    devices.sort(key=lambda d: d.name)
    return GateStatus(
        site=rt.settings.gate.site,
        gate=rt.settings.gate.id,
        state=state,
        at=int(rt.clock.wall() * 1000),
        boot_id=rt.boot_id,
        software=version("gatepass"),
        mode=rt.mode,
        clock_trusted=rt.clock_view().trusted,
        outbox_depth=rt.store.depth,
        outbox_floor_seq=await rt.store.floor_seq(),
        dead_letters=rt.store.dead or msgspec.UNSET,  # unset: a server of before reads it too
        takeovers=rt.takeovers.count(rt.clock.monotonic()) or msgspec.UNSET,  # the same
        manifest_seq=applied.manifest.seq if applied.manifest else None,
        revocation_seq=applied.revocations.seq if applied.revocations else None,
        config_version=applied.config.version if applied.config else None,
        devices=devices[:16],
    )


def _device(rt: Runtime, name: str, state: DeviceState, detail: str) -> DeviceHealth:
    """One device's row; ``since`` and ``last_error`` only once it has had an error."""
    since, error = rt.health_marks.get(name, (0, ""))
    told = bool(error) or state != DeviceState.OK
    return DeviceHealth(
        name=name,
        state=state,
        detail=detail[:128] or None,
        since=since if told and since else msgspec.UNSET,
        last_error=error[:128] if error else msgspec.UNSET,
    )


async def will_payload(rt: Runtime) -> bytes:
    """The Last Will: this gate's status with state ``offline``."""
    return encode(await build(rt, Lifecycle.OFFLINE))


async def publish_loop(rt: Runtime, link: MqttClient) -> None:
    """Publish the status after every connect, on change (debounced) and every minute."""
    topic = status_topic(rt)
    while True:
        await link.connected.wait()
        ok = await link.publish_wait(topic, encode(await build(rt, Lifecycle.ONLINE)), retain=True)
        if not ok:
            await asyncio.sleep(1.0)  # not connected after all, or no PUBACK: try again
            continue
        rt.status_changed.clear()
        try:
            async with asyncio.timeout(HEARTBEAT_S):
                await rt.status_changed.wait()
            await asyncio.sleep(DEBOUNCE_S)
        except TimeoutError:
            pass

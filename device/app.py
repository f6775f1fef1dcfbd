"""The composition root: build the gate from its settings and run every task until stopped.

The only module that wires adapters (gpiozero, serial drivers, MQTT, SQLite) to the core.
One ``TaskGroup`` with named tasks; if any task dies of a bug, the group stops, the relay is
forced off, a final ``offline`` status is published, and systemd restarts the unit.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import msgspec

from device import status, systemd, watchers
from device.actuators import RelayOwner, Signals
from device.commands import CommandRunner, apply_mode
from device.config import GateSettings
from device.display import view
from device.display.server import DisplayServer
from device.hardware.clock import SystemClock, build_sync
from device.hardware.factory import build_scanner, build_thermometer
from device.hardware.gpio.devices import GpioDevices, SimPanel, build_gpio
from device.hardware.gpio.pins import PinMap
from device.inbound import InboundRouter
from device.lane import LaneFlow
from device.link.mqtt import MqttClient, MqttSettings
from device.ports import Clock, QrScanner, Speaker, SystemSync, Thermometer
from device.presence import PresenceSender, peer_filters
from device.publisher import Drainer
from device.runtime import Runtime
from device.store.outbox import GateStore
from device.timesync import TimeSync
from device.trust import TrustStore
from device.voice.output import build_speaker, voice
from protocol import topics
from protocol.keys import public_from_raw
from protocol.messages import AlarmKind, Lifecycle, Mode, encode
from protocol.topics import TopicKind

logger = logging.getLogger(__name__)


@dataclass
class Gate:
    """A built gate: its runtime and the parts tests and the sim control reach into."""

    rt: Runtime
    gpio: GpioDevices
    scanner: QrScanner
    thermometer: Thermometer
    link: MqttClient
    lane: LaneFlow
    drainer: Drainer
    router: InboundRouter
    panel: SimPanel | None
    presence: PresenceSender
    timesync: TimeSync
    speaker: Speaker | None = None  # [voice] output; None when off
    display: DisplayServer | None = None  # the lane page (None: ``[display] enabled = false``)


def pin_map(settings: GateSettings) -> PinMap:
    """The PinMap the config describes (PinMap refuses duplicates and reserved pins); the
    ``[pins]`` section has exactly PinMap's fields."""
    return PinMap(**msgspec.structs.asdict(settings.pins))


def subscriptions(settings: GateSettings) -> tuple[str, ...]:
    """What the gate listens to, manifest first: the broker sends retained messages in the
    order of the subscriptions, and the config and lists can only be checked once the
    manifest's keys are known (anything that arrives earlier is parked and retried)."""
    site, gate = settings.gate.site, settings.gate.id
    shared = [
        str(topics.site_topic(site, kind))
        for kind in (
            TopicKind.MANIFEST,
            TopicKind.REVOCATIONS_FULL,
            TopicKind.REVOCATIONS_DELTA,
            TopicKind.SERVER_STATUS,
        )
    ]
    own = [
        str(topics.gate_topic(site, gate, kind))
        for kind in (TopicKind.CONFIG, TopicKind.ACKS, TopicKind.COMMANDS, TopicKind.TIME)
    ]
    return (*shared, *own)  # the peers' presence: link.follow, from the signed config


async def build(settings: GateSettings, clock: Clock, os_sync: SystemSync | None = None) -> Gate:
    """Open the store, restore trust, build the hardware and the link (nothing runs yet);
    ``os_sync`` replaces the one ``[clock] os_sync`` names (tests)."""
    data = Path(settings.gate.data_dir)
    store = await GateStore.open(
        data / "gate.db", max_events=settings.outbox.max_events, reseed=int(clock.wall() * 1000)
    )
    root = public_from_raw(bytes.fromhex(settings.trust.root_key))
    trust = TrustStore(settings.gate.site, settings.gate.id, root, store)
    for problem in await trust.restore():
        logger.warning("stored trust refused: %s", problem)
    sim = settings.gate.hardware == "sim"
    gpio = build_gpio(pin_map(settings), sim=sim)
    panel = SimPanel(gpio.factory, pin_map(settings)) if sim else None
    if panel is not None and gpio.door is not None:
        panel.door(False)  # a simulated lane starts with its door shut
    rt = Runtime(
        settings,
        store,
        trust,
        RelayOwner(gpio.relay),
        Signals(gpio.indicator, gpio.buzzer),
        clock,
    )
    rt.state, rt.floor = await store.load_state(), await store.time_floor()
    await rt.apply_unlocks()  # a list applied by the trust store's restore may void a lock
    saved_mode = await store.get_blob("mode")
    rt.server_mode = Mode(saved_mode.decode()) if saved_mode else Mode.NORMAL
    scanner = build_scanner(
        settings.scanner.model, settings.scanner.port, baud=settings.scanner.baud
    )
    t = settings.thermometer
    thermometer = build_thermometer(t.model, t.port, baud=t.baud, offset_c=t.offset_c)
    will = await status.will_payload(rt)
    link = MqttClient(
        mqtt_settings(settings, status.status_topic(rt), will),
        takeovers=rt.takeovers,
        monotonic=rt.clock.monotonic,
    )
    link.follow(peer_filters(settings.gate.site, trust.applied.config))
    drainer = Drainer(rt, link)
    timesync = TimeSync(rt, link, os_sync or build_sync(settings.clock.os_sync))
    router = InboundRouter(rt, link, drainer, CommandRunner(rt, link), timesync)
    presence = PresenceSender(rt, link)
    lane = LaneFlow(rt, scanner, thermometer, gpio.keypad, presence=presence)
    gate = Gate(
        rt, gpio, scanner, thermometer, link, lane, drainer, router, panel, presence, timesync
    )
    gate.speaker = build_speaker(settings)
    if gate.speaker is not None:  # the voice hears every cue the lane tells
        rt.announcer.listen(voice(settings, gate.speaker, lambda: rt.policy, rt.clock.wall))
    gate.display = build_display(rt)
    return gate


def build_display(rt: Runtime) -> DisplayServer | None:
    """The lane page's server, showing the current cue and listening for the next ones."""
    d = rt.settings.display
    if not d.enabled:
        return None
    host, port = d.address
    gate_id = rt.settings.gate.id
    display = DisplayServer(
        host, port, lambda: view.Lane(gate_id, rt.policy.language), max_streams=d.max_streams
    )
    display.show(rt.announcer.current)
    rt.announcer.listen(display.show)
    return display


def mqtt_settings(settings: GateSettings, will_topic: str, will: bytes) -> MqttSettings:
    """How this gate reaches its broker, what it subscribes to, and its Last Will."""
    b = settings.broker
    return MqttSettings(
        host=b.host,
        port=b.port,
        username=b.username,
        password=b.password,
        client_id=settings.client_id,
        subscriptions=subscriptions(settings),
        will_topic=will_topic,
        will_payload=will,
        keepalive_s=b.keepalive_s,
        session_expiry_s=b.session_expiry_s,
        tls_ca=Path(b.tls_ca) if b.tls_ca else None,
        reconnect_max_s=b.reconnect_max_s,
    )


SWITCH_INTERVAL_S = 0.001  # CPython's default is 5 ms


def _tune_interpreter() -> None:
    """Tune CPython for latency once the daemon is up.

    Keep what start-up built out of the collector's reach: a full collection walking it stalled
    scans for 15-30 ms here, several times the whole scan-to-relay budget. And hand the GIL
    between threads (serial readers, paho, the store) every 1 ms instead of 5: during a backlog
    drain that cut the p90 of a live scan by a third (measured, docs/benchmarks.md).
    """
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL_S)


async def run(
    gate: Gate, *, ready: asyncio.Event | None = None, control: Path | None = None
) -> None:
    """Run every task until cancelled; always end with the relay off and the store closed."""
    rt = gate.rt
    rt.started = rt.clock.monotonic()
    if rt.store.quarantined is not None:
        await rt.alarm(AlarmKind.STORE_CORRUPT, f"quarantined as {rt.store.quarantined.name}")
    await gate.drainer.start()
    await gate.link.start()
    apply_mode(rt)
    try:
        async with asyncio.TaskGroup() as tg:
            _start_tasks(tg, gate, control)
            _tune_interpreter()
            logger.info(
                "gate %s/%s ready (%s)", rt.settings.gate.site, rt.settings.gate.id, rt.boot_id
            )
            if ready is not None:
                ready.set()
    finally:
        gate.rt.relay.relay.off()
        await rt.store.ack(gate.drainer.acked)  # rows acked since the last prune
        final = encode(await status.build(rt, Lifecycle.OFFLINE))
        await gate.link.stop((status.status_topic(rt), final))
        await rt.signals.close()
        if gate.speaker is not None:
            await gate.speaker.close()
        gate.gpio.close()
        await rt.store.close()


def _start_tasks(tg: asyncio.TaskGroup, gate: Gate, control: Path | None) -> None:
    rt, g = gate.rt, gate.gpio
    tg_tasks: dict[str, asyncio.Task[None]] = {}
    tasks = {
        "relay": rt.relay.run(),
        "scanner": gate.scanner.run(),
        "thermometer": gate.thermometer.run(),
        "thermometer-health": watchers.thermometer_health(rt, gate.thermometer),
        "scanner-health": watchers.scanner_health(rt, gate.scanner),
        "lane": gate.lane.run(),
        "button": watchers.button_loop(rt, g.button, g.keypad),
        "upkeep": watchers.upkeep_loop(rt),
        "inbound": gate.router.run(),
        "publisher": gate.drainer.run(),
        "prune": gate.drainer.prune(),
        "status": status.publish_loop(rt, gate.link),
        "connection": _connection_loop(gate),
        "timesync": gate.timesync.run(),
        "watchdog": systemd.watchdog(lambda: _healthy(tg_tasks)),
    }
    if g.door is not None:
        tasks["door"] = watchers.door_loop(rt, g.door)
    if g.mode_switch is not None:
        tasks["lockdown-key"] = watchers.key_loop(rt, g.mode_switch)
    if gate.display is not None:
        tasks["display"] = gate.display.run()
    if control is not None and gate.panel is not None:
        from device.sim.control import SimControl, serve

        tasks["sim-control"] = serve(SimControl(gate.panel, rt.relay, gate.speaker), control)
    watchers.gpio_health(rt, g)
    for name, coro in tasks.items():
        tg_tasks[name] = tg.create_task(coro, name=name)


def _healthy(tasks: dict[str, asyncio.Task[None]]) -> bool:
    """The lane, the relay owner and the upkeep are alive (the loop itself is, or we'd not run)."""
    return all(not tasks[name].done() for name in ("lane", "relay", "upkeep") if name in tasks)


async def _connection_loop(gate: Gate) -> None:
    """Follow the broker link: offline flag on events, resend and ask the time after a
    reconnect."""
    while True:
        up = await gate.link.changes.get()
        gate.rt.link_up = up
        gate.rt.status_changed.set()
        if up:
            gate.drainer.on_reconnect()
            gate.presence.flush()
            gate.timesync.poke()


def _stop(runner: asyncio.Task[None]) -> None:
    """SIGTERM/SIGINT: tell systemd the stop is deliberate, then cancel every task."""
    systemd.notify("STOPPING=1")
    runner.cancel()


async def main(
    settings: GateSettings, *, control: Path | None = None, clock: Clock | None = None
) -> None:
    """``gatepass-gate run``: build, announce readiness on stdout, run until SIGTERM/SIGINT."""
    gate = await build(settings, clock or SystemClock())
    ready = asyncio.Event()
    runner = asyncio.create_task(run(gate, ready=ready, control=control), name="gate")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _stop, runner)  # a clean stop: relay off, offline status
    waiter = asyncio.create_task(ready.wait(), name="ready")
    await asyncio.wait([runner, waiter], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if ready.is_set():
        print("READY", flush=True)
        systemd.notify("READY=1")
    try:
        await runner
    except asyncio.CancelledError:
        logger.info("stopped")

"""The gate's always-on duties: override button, door, lockdown key, device health, upkeep.

These work at any time, also while a person is in the lane flow and while the network is
down: the button opens once (attributed to a recent staff scan), the key switch forces
lockdown, the door contact raises ``door_forced`` and ``door_held_open``, and the periodic
upkeep raises the outbox, ``registry_stale`` and clock alarms on their transitions.
"""

from __future__ import annotations

import asyncio
import logging

from device.commands import apply_mode
from device.core import cues
from device.core.model import Outcome
from device.core.override import attributed_operator, override
from device.hardware.gpio.devices import GpioDevices
from device.ports import (
    Button,
    ButtonPress,
    DeviceStatus,
    DoorContact,
    Keypad,
    ModeSwitch,
    QrScanner,
    Thermometer,
)
from device.runtime import Runtime
from device.store.db import StoreError
from protocol.messages import AlarmKind, DeviceState, OverrideReason

logger = logging.getLogger(__name__)

REASON_KEYS = {
    "1": OverrideReason.REGISTERED_BY_HAND,
    "2": OverrideReason.NO_SMARTPHONE,
    "3": OverrideReason.DEVICE_FAULT,
    "4": OverrideReason.EMERGENCY,
    "5": OverrideReason.OTHER,
}
REASON_WAIT_S = 10.0
OPEN_GRACE_S = 3.0  # a door opening this soon after the relay let someone through is expected
UPKEEP_S = 5.0
# A daemon that just started hears the server's time and the retained revocation list within a
# second or two of connecting; only past this does an untrusted clock or a stale list count as
# a condition worth an alarm (decisions deny by those rules from the first second regardless).
SETTLE_S = 90.0


async def button_loop(rt: Runtime, button: Button, keypad: Keypad | None) -> None:
    """A press opens once; a hold waits for a reason digit (1-5) on the keypad first."""
    while True:
        press = await button.next_press()
        reason = None
        if press == ButtonPress.HOLD and keypad is not None:
            keypad.clear()
            key = await keypad.next_key(within=REASON_WAIT_S)
            reason = REASON_KEYS.get(key or "")
        await open_by_hand(rt, reason)


async def open_by_hand(rt: Runtime, reason: OverrideReason | None) -> None:
    """The staff override at the gate: recorded (attributed if a staff pass was just seen)."""
    clock = rt.clock_view()
    operator = attributed_operator(rt.state, rt.lane(clock), clock.now) or "button:unattributed"
    decision, state = override(
        rt.state, rt.lane(clock), clock.now, operator=operator, reason=reason
    )
    ids = await rt.record_or_hold(decision.events, state, priority=True)
    rt.signals.show(decision.signal)
    rt.announcer.tell(cues.for_override(decision))
    if decision.outcome == Outcome.GRANT:
        rt.relay.open(decision.open_ms, ids[0])


async def door_loop(rt: Runtime, door: DoorContact) -> None:
    """Door forced (opened with the lane shut) and door held open too long."""
    loop = asyncio.get_running_loop()
    last_open_at = -1e9
    while True:
        was_open = door.is_open
        change = await door.next_change(within=0.5)
        if rt.relay.relay.is_on:
            last_open_at = loop.time()
        if change is True and not was_open and loop.time() - last_open_at > OPEN_GRACE_S:
            await rt.alarm(AlarmKind.DOOR_FORCED, "door opened while the lane was shut")
        if change is True:
            await _watch_held(rt, door)


async def _watch_held(rt: Runtime, door: DoorContact) -> None:
    """Raise door_held_open once if the door stays open past the policy's limit."""
    closed = await door.next_change(within=float(rt.policy.door_held_open_s))
    if closed is None and door.is_open:
        await rt.alarm(AlarmKind.DOOR_HELD_OPEN, f"open for {rt.policy.door_held_open_s} s")
        while door.is_open:
            await door.next_change(within=1.0)


async def key_loop(rt: Runtime, switch: ModeSwitch) -> None:
    """The lockdown key works without the network; each turn is recorded."""
    rt.key_lockdown = switch.lockdown
    apply_mode(rt)
    while True:
        turned = await switch.next_change()
        if turned is None or turned == rt.key_lockdown:
            continue
        rt.key_lockdown = turned
        apply_mode(rt)
        await rt.alarm(AlarmKind.MODE_CHANGED, f"lockdown key {'on' if turned else 'off'}")


async def thermometer_health(rt: Runtime, thermometer: Thermometer) -> None:
    """Follow the thermometer's health (its readings are fetched by the lane)."""
    async for item in thermometer.events():
        if isinstance(item, DeviceStatus):
            await device_changed(rt, item)


async def scanner_health(rt: Runtime, scanner: QrScanner) -> None:
    """Follow the scanner's health on its own channel: the lane reads the scans, and a person
    in the flow must not delay the news that the scanner is gone."""
    async for status in scanner.statuses():
        await device_changed(rt, status)


def gpio_health(rt: Runtime, gpio: GpioDevices) -> None:
    """The GPIO devices are listed as ok: a pin driver reports no failure, so ok is all there
    is to say (no error is invented; a relay that does not switch is not seen from the pin)."""
    fitted = {"relay": gpio.relay, "button": gpio.button, "keypad": gpio.keypad}
    for name, device in fitted.items():
        if device is not None and name not in rt.health:
            rt.set_health(name, DeviceState.OK, "gpio")


async def device_changed(rt: Runtime, status: DeviceStatus) -> None:
    """Record a peripheral going offline or coming back, and update the status.

    The alarm's note starts with the device's name and a colon: the server files the alert
    under that name, the same subject the status's device list holds and ends."""
    before = rt.set_health(status.device, status.state, status.detail) or DeviceState.OK
    if status.state != DeviceState.OK and before == DeviceState.OK:
        await rt.alarm(AlarmKind.DEVICE_OFFLINE, f"{status.device}: {status.detail}"[:200])
    elif status.state == DeviceState.OK and before != DeviceState.OK:
        await rt.alarm(AlarmKind.DEVICE_RECOVERED, f"{status.device}: {status.detail}"[:200])


async def upkeep_loop(rt: Runtime) -> None:
    """Transition alarms (outbox high, registry stale, clock untrusted) and the time floor."""
    while True:
        await upkeep(rt)
        await asyncio.sleep(UPKEEP_S)


async def upkeep(rt: Runtime) -> None:
    """One round of upkeep: what a failing store held goes in first."""
    await rt.flush_held()
    clock = rt.clock_view()
    settled = rt.started is None or rt.clock.monotonic() - rt.started >= SETTLE_S
    stale = settled and _stale(rt, clock.now)
    checks = (
        (AlarmKind.OUTBOX_HIGH, rt.store.high, f"{rt.store.depth} events waiting"),
        (AlarmKind.REGISTRY_STALE, stale, "revocation list out of date"),
        (AlarmKind.CLOCK_UNTRUSTED, settled and not clock.trusted, "clock not vouched for"),
    )
    for kind, active, note in checks:
        if active:
            await rt.alarm(kind, note, once=True)
        else:
            rt.clear_alarm(kind)
    if clock.trusted and clock.now > rt.floor:
        rt.floor = clock.now
        try:
            await rt.store.raise_time_floor(clock.now)
        except StoreError as exc:  # a full disk: the floor in memory holds; stored next round
            logger.warning("time floor not stored: %s", exc)
    rt.state = rt.state.pruned(clock.now, keep_s=2 * 86400)


def _stale(rt: Runtime, now: int) -> bool:
    rev = rt.trust.applied.revocations
    return rev is None or rev.is_stale(now, rt.policy.revocation_grace_s)

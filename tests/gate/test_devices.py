"""Device supervision at a whole lane: a pulled scanner shows as offline in the published
status within 10 s and raises ``device_offline``; plugged back in, it is reopened by itself,
the status says ok (with when and what the last error was) and a scan works again."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from protocol.messages import AlarmKind, DeviceHealth, DeviceState
from tests.gate.conftest import GATE, Lane

pytestmark = pytest.mark.broker


def _device(lane: Lane, name: str) -> DeviceHealth | None:
    status = lane.server.statuses.get(GATE)
    found = [d for d in status.devices if d.name == name] if status else []
    return found[0] if found else None


def _state(lane: Lane, name: str) -> DeviceState | None:
    device = _device(lane, name)
    return device.state if device else None


async def test_a_pulled_scanner_is_reported_within_10s_and_reopened_when_back(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory()
    await lane.until(lambda: _state(lane, "scanner") == DeviceState.OK, 10)
    healthy = _device(lane, "scanner")
    assert healthy is not None
    assert healthy.since is msgspec.UNSET  # never failed: left out (servers of before read it)
    for gpio in ("relay", "button"):
        assert _state(lane, gpio) == DeviceState.OK  # pins that cannot fail: ok, no error
        assert _device(lane, gpio).last_error is msgspec.UNSET  # type: ignore[union-attr]

    pulled = time.monotonic()
    lane.scanner.command("unplug")
    await lane.until(lambda: _state(lane, "scanner") == DeviceState.OFFLINE, 10)
    assert time.monotonic() - pulled < 10
    lost = _device(lane, "scanner")
    assert lost is not None
    assert lost.last_error
    assert lost.since
    alarm = await lane.alarm()
    assert alarm.alarm == AlarmKind.DEVICE_OFFLINE
    assert alarm.note.startswith("scanner: ")

    lane.scanner.command("replug")  # a new pty; the stable link configured follows it
    await lane.until(lambda: _state(lane, "scanner") == DeviceState.OK, 15)
    back = _device(lane, "scanner")
    assert back is not None
    assert back.last_error == lost.last_error  # kept for the page after the recovery
    assert isinstance(back.since, int)
    assert back.since >= lost.since  # type: ignore[operator]
    recovered = await lane.alarm()
    assert recovered.alarm == AlarmKind.DEVICE_RECOVERED
    assert recovered.note.startswith("scanner: ")

    lane.present(lane.site.pass_text())  # the reopened scanner reads again
    lane.step_in()
    event = await lane.decision()
    assert event.granted

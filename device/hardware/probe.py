"""``gatepass-gate probe``: open a device as the gate would and print what it says, as JSON lines.

One JSON object per line on stdout, flushed at once; logs (the module identity, reopen
attempts) go to stderr. ``t`` is seconds since the probe started. The line formats are
documented in docs/hardware.md and checked by tests: installers and outside checks read them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import IO, Literal, TypedDict

from device.ports import (
    DeviceStatus,
    QrScanner,
    Reading,
    ReadingError,
    Scan,
    ScannerEvent,
    ScanRejected,
    Thermometer,
    ThermometerEvent,
)


class ReadingLine(TypedDict):
    """A reading (docs/hardware.md, the probe's line formats; installers read these)."""

    event: Literal["reading"]
    t: float
    model: str
    object_c: float
    ambient_c: float
    offset_c: float
    body_c: float


class ReadingErrorLine(TypedDict):
    """No usable reading, and why."""

    event: Literal["reading_error"]
    t: float
    fault: str
    detail: str
    raw: str


class ScanLine(TypedDict):
    """A screened, debounced scan."""

    event: Literal["scan"]
    t: float
    payload: str
    length: int


class ScanRejectedLine(TypedDict):
    """A payload refused before decoding."""

    event: Literal["scan_rejected"]
    t: float
    reason: str
    length: int


class StateLine(TypedDict):
    """The device went online or offline."""

    event: Literal["state"]
    t: float
    device: str
    state: str
    detail: str


class RejectedLine(TypedDict):
    """A frame the codec refused."""

    event: Literal["rejected"]
    t: float
    device: str
    reason: str
    raw: str


ProbeLine = ReadingLine | ReadingErrorLine | ScanLine | ScanRejectedLine | StateLine | RejectedLine


def to_json(item: ThermometerEvent | ScannerEvent, start: float) -> ProbeLine:
    """The documented JSON form of one driver event."""
    t = round(item.at - start, 3)
    if isinstance(item, Reading):
        return {
            "event": "reading",
            "t": t,
            "model": item.model,
            "object_c": item.object_c,
            "ambient_c": item.ambient_c,
            "offset_c": item.offset_c,
            "body_c": item.body_c,
        }
    if isinstance(item, ReadingError):
        return {
            "event": "reading_error",
            "t": t,
            "fault": item.fault.value,
            "detail": item.detail,
            "raw": item.raw.hex(),
        }
    if isinstance(item, Scan):
        return {"event": "scan", "t": t, "payload": item.payload, "length": len(item.payload)}
    if isinstance(item, ScanRejected):
        return {"event": "scan_rejected", "t": t, "reason": item.reason, "length": item.length}
    if isinstance(item, DeviceStatus):
        return {
            "event": "state",
            "t": t,
            "device": item.device,
            "state": item.state.value,
            "detail": item.detail,
        }
    return {
        "event": "rejected",
        "t": t,
        "device": item.device,
        "reason": item.reason,
        "raw": item.raw[:64].hex(),
    }


async def probe(
    device: Thermometer | QrScanner,
    *,
    duration: float | None = None,
    trigger_every: float | None = None,
    out: IO[str] = sys.stdout,
) -> None:
    """Run ``device`` and print its events until cancelled or ``duration`` passes."""
    start = time.monotonic()
    async with asyncio.TaskGroup() as group:
        runner = group.create_task(device.run(), name=f"probe-{device.name}")
        trigger = None
        if trigger_every is not None and isinstance(device, QrScanner):
            trigger = group.create_task(_trigger(device, trigger_every), name="probe-trigger")
        try:
            async with asyncio.timeout(duration):
                async for item in device.events():
                    out.write(json.dumps(to_json(item, start), ensure_ascii=True) + "\n")
                    out.flush()
        except TimeoutError:
            pass
        finally:
            runner.cancel()
            if trigger is not None:
                trigger.cancel()


async def _trigger(scanner: QrScanner, every: float) -> None:
    while True:
        await scanner.trigger()
        await asyncio.sleep(every)


def run_probe(
    kind: str,
    model: str,
    url: str,
    *,
    baud: int | None,
    offset_c: float,
    mode: str | None,
    duration: float | None,
) -> int:
    """Build the driver from the factory and probe it; 0 on a clean stop (Ctrl-C too)."""
    from device.hardware.factory import build_scanner, build_thermometer

    options: dict[str, str] = {"mode": mode} if mode else {}
    if kind == "thermometer":
        device: Thermometer | QrScanner = build_thermometer(
            model, url, baud=baud, offset_c=offset_c, **options
        )
        every = None
    else:
        device = build_scanner(model, url, baud=baud, **options)
        every = 1.0 if mode == "command" else None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(probe(device, duration=duration, trigger_every=every))
    return 0

"""The gate's peripherals as small async Protocols, and the values that cross them.

The gate logic depends on these and on nothing in ``device.hardware``: real adapters
(gpiozero, pyserial), in-memory fakes (``device.hardware.fakes``) and simulators all satisfy
them. Every adapter crosses from its threads into the event loop in exactly one place. Times
are ``time.monotonic()`` seconds unless a name says ``wall``. Imports only the standard library
and ``protocol``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from protocol.messages import DeviceState

__all__ = [
    "Button",
    "ButtonPress",
    "Buzzer",
    "Clock",
    "DeviceState",
    "DeviceStatus",
    "DoorContact",
    "FrameRejected",
    "Indicator",
    "Keypad",
    "LedPattern",
    "ModeSwitch",
    "QrScanner",
    "Reading",
    "ReadingError",
    "ReadingFault",
    "Relay",
    "Scan",
    "ScanRejected",
    "ScannerEvent",
    "Speaker",
    "SystemSync",
    "Thermometer",
    "ThermometerEvent",
]


# --- values -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """One thermometer reading as measured: object (skin), ambient, offset and body estimate.

    ``body_c = object_c + offset_c``; nothing else is added, rounded away or invented. Only
    finite values within the sensor's physical range ever become a ``Reading`` (otherwise the
    driver emits a ``ReadingError``); whether a person's temperature is plausible (34-43 degC)
    is the gate logic's decision.
    """

    object_c: float
    ambient_c: float
    offset_c: float
    body_c: float
    at: float
    model: str
    raw: bytes = b""

    def __post_init__(self) -> None:
        """Refuse non-finite values at construction, whoever builds the reading."""
        values = (self.object_c, self.ambient_c, self.offset_c, self.body_c, self.at)
        if not all(math.isfinite(v) for v in values):
            raise ValueError("a Reading holds finite values only")


class ReadingFault(enum.StrEnum):
    """Why there is no reading to use (the gate measures again or reports a fault)."""

    NO_READING = "no_reading"  # nothing arrived in time
    NOT_FINITE = "not_finite"  # NaN or infinity
    OUT_OF_RANGE = "out_of_range"  # outside the sensor's physical range
    STUCK = "stuck"  # the same raw value for too long
    WRONG_DEVICE = "wrong_device"  # a frame of the right shape but another type or length
    DEVICE_OFFLINE = "device_offline"
    SENSOR_ERROR = "sensor_error"  # the device itself reports a measurement error


@dataclass(frozen=True, slots=True)
class ReadingError:
    """An explicit "no valid reading": the fault, a short detail and when it happened."""

    fault: ReadingFault
    detail: str
    at: float
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A change of a peripheral's health (``ok`` after open, ``offline`` when it goes away)."""

    device: str
    state: DeviceState
    detail: str
    at: float


@dataclass(frozen=True, slots=True)
class FrameRejected:
    """Bytes a codec refused, and why; ``raw`` is for hex display only, never raw echo."""

    device: str
    reason: str
    raw: bytes
    at: float


@dataclass(frozen=True, slots=True)
class Scan:
    """A scanned payload that passed the allow-list, the length cap and the debounce."""

    payload: str
    at: float


@dataclass(frozen=True, slots=True)
class ScanRejected:
    """A scanned payload refused before decoding (too long, not printable ASCII, empty)."""

    reason: str
    length: int
    at: float


ThermometerEvent = Reading | ReadingError | DeviceStatus | FrameRejected
ScannerEvent = Scan | ScanRejected | DeviceStatus | FrameRejected


class ButtonPress(enum.StrEnum):
    """A short press (reported on release) or a hold (reported when the hold time passes)."""

    PRESS = "press"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class LedPattern:
    """Green and red LED behaviour: each is off, steady on, or blinking (on_s, off_s)."""

    green: tuple[float, float] | bool = False
    red: tuple[float, float] | bool = False


# --- serial devices ---------------------------------------------------------------------


@runtime_checkable
class Thermometer(Protocol):
    """An IR thermometer; ``run()`` owns the device, the rest reads what it produced."""

    name: str

    async def run(self) -> None:
        """Open, configure, read and supervise the device until cancelled (reopens by itself)."""
        ...

    @property
    def state(self) -> DeviceState:
        """Current health of the device."""
        ...

    async def read(self, *, within: float, max_age: float = 0.5) -> Reading | ReadingError:
        """A reading no older than ``max_age`` (waiting up to ``within``), or why there is none."""
        ...

    def events(self) -> AsyncIterator[ThermometerEvent]:
        """Every reading, reading error, state change and rejected frame, in order."""
        ...


@runtime_checkable
class QrScanner(Protocol):
    """A QR scanner; ``run()`` owns the device, ``events()`` yields what it scanned."""

    name: str

    async def run(self) -> None:
        """Open, configure, read and supervise the device until cancelled (reopens by itself)."""
        ...

    @property
    def state(self) -> DeviceState:
        """Current health of the device."""
        ...

    async def trigger(self) -> None:
        """Ask for one scan (command-trigger mode); a no-op for continuous scanners."""
        ...

    def statuses(self) -> AsyncIterator[DeviceStatus]:
        """Each health change, on a channel of its own (the lane reads ``events()``)."""
        ...

    def events(self) -> AsyncIterator[ScannerEvent]:
        """Scans, rejected scans, state changes and rejected frames, in order."""
        ...


# --- GPIO devices -----------------------------------------------------------------------


@runtime_checkable
class Relay(Protocol):
    """The lock or turnstile relay: off unless told otherwise, off again on any exit path."""

    @property
    def is_on(self) -> bool:
        """True while the relay is energised (the lane is open)."""
        ...

    async def pulse(self, seconds: float) -> None:
        """Energise for ``seconds`` then de-energise, also if cancelled meanwhile."""
        ...

    def hold(self) -> None:
        """Energise until ``off()`` (free passage, potential-mode turnstiles)."""
        ...

    def off(self) -> None:
        """De-energise now (the safe state)."""
        ...

    def close(self) -> None:
        """De-energise and release the pin."""
        ...


@runtime_checkable
class Indicator(Protocol):
    """Two LEDs with a steady mode and a temporary result pattern on top (as OSDP models it)."""

    def set_steady(self, pattern: LedPattern) -> None:
        """The pattern shown whenever no temporary pattern is running."""
        ...

    def show(self, pattern: LedPattern, seconds: float) -> None:
        """Show ``pattern`` for ``seconds``, then return to the steady pattern."""
        ...

    @property
    def current(self) -> LedPattern:
        """What the LEDs show now."""
        ...

    def close(self) -> None:
        """Turn both LEDs off and release the pins."""
        ...


@runtime_checkable
class Buzzer(Protocol):
    """A buzzer playing on/off patterns."""

    async def play(self, pattern: tuple[tuple[float, float], ...]) -> None:
        """Sound each (on_s, off_s) step in turn; silent again on return or cancellation."""
        ...

    def close(self) -> None:
        """Silence and release the pin."""
        ...


@runtime_checkable
class Speaker(Protocol):
    """The lane's voice: plays a prompt (clips in order), a new one cutting the one playing."""

    def play(self, clips: Sequence[Path | str], volume_percent: int) -> None:
        """Start playing ``clips`` (WAV paths, or clip ids for a simulator) without waiting."""
        ...

    async def close(self) -> None:
        """Stop any playback and release the output."""
        ...


@runtime_checkable
class Keypad(Protocol):
    """A 3x4 keypad giving '0'-'9', '*' and '#'."""

    async def next_key(self, within: float) -> str | None:
        """The next key pressed within ``within`` seconds, or None."""
        ...

    def clear(self) -> None:
        """Forget keys pressed before now (start of a new prompt)."""
        ...

    def close(self) -> None:
        """Stop scanning and release the pins."""
        ...


@runtime_checkable
class Button(Protocol):
    """The staff override button: a short press or a hold."""

    async def next_press(self, within: float | None = None) -> ButtonPress | None:
        """The next press or hold, or None after ``within`` seconds."""
        ...

    def close(self) -> None:
        """Release the pin."""
        ...


@runtime_checkable
class DoorContact(Protocol):
    """A door or passage contact."""

    @property
    def is_open(self) -> bool:
        """True while the door is open."""
        ...

    async def next_change(self, within: float | None = None) -> bool | None:
        """The new ``is_open`` after the next change, or None after ``within`` seconds."""
        ...

    def close(self) -> None:
        """Release the pin."""
        ...


@runtime_checkable
class ModeSwitch(Protocol):
    """The lockdown key switch: lockdown works without the network."""

    @property
    def lockdown(self) -> bool:
        """True while the key is turned to lockdown."""
        ...

    async def next_change(self, within: float | None = None) -> bool | None:
        """The new ``lockdown`` after the next turn of the key, or None after ``within``."""
        ...

    def close(self) -> None:
        """Release the pin."""
        ...


@runtime_checkable
class Clock(Protocol):
    """Wall time for pass validity, monotonic time for everything that measures intervals."""

    def wall(self) -> float:
        """Seconds since the epoch (may jump: NTP, a dead RTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back."""
        ...


@runtime_checkable
class SystemSync(Protocol):
    """Whether the operating system keeps the wall clock synchronised (NTP through
    systemd-timesyncd or chrony): one vouch for the clock (device.core.clock)."""

    def synchronised(self, max_error_s: float) -> bool:
        """True if the OS says its clock is synchronised with an error of at most
        ``max_error_s``; False if it is not, or cannot say."""
        ...

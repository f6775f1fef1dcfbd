"""A GY-MCU90614/90615 module on a pty, speaking the "5A 5A" protocol through the same codec.

Behaviour copied from the module (reference 1.2): ``A5 45 EA`` starts streaming at 10 Hz,
``A5 15 BA`` stops it and answers one frame, baud and auto-output commands apply only after a
power cycle, a command with a wrong sum gets no reply. When the host's baud (read from the pty's
termios) differs from the module's, the host gets garbage or silence and its commands are lost.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from device.hardware.codecs import thermometer as gy
from device.sim.base import SimError, Simulator, flag
from device.sim.pty import PtyPort
from device.sim.scene import Scene

DEFAULT_BAUD = {"gy-mcu90614": 9600, "gy-mcu90615": 115200}


class ThermometerSim(Simulator):
    """One simulated GY module."""

    def __init__(
        self,
        model: str = "gy-mcu90614",
        *,
        baud: int | None = None,
        rate_hz: float = 10.0,
        mismatch: str = "garbage",
        autostart: bool = True,
        link: Path | None = None,
        seed: int = 1,
        **kwargs: Any,
    ) -> None:
        if model not in DEFAULT_BAUD:
            raise SimError(f"unknown thermometer model {model!r}")
        super().__init__(link=link, **kwargs)
        self.model = model
        self.baud = baud or DEFAULT_BAUD[model]
        self.pending_baud = self.baud
        self.autostart = self.pending_autostart = autostart
        self.rate_hz = rate_hz
        self.mismatch = mismatch
        self.scene = Scene(seed=seed)
        self.streaming = False
        self.raw_override: tuple[int, int] | None = None
        self.corrupt = self.stray = self.wrong_type = 0
        self.frames_sent = 0
        self._decoder = gy.CommandDecoder()
        self._next_frame = 0.0
        self._rng = random.Random(seed)  # noqa: S311 - simulated noise, not security

    def power_on(self) -> None:
        """Settings remembered by earlier commands take effect now."""
        self.baud = self.pending_baud
        self.autostart = self.pending_autostart
        self.streaming = self.autostart
        self._decoder = gy.CommandDecoder()

    def tick(self, port: PtyPort, data: bytes, now: float) -> None:
        """Answer commands (if the baud matches) and stream when due."""
        matched = port.host_baud() == self.baud
        if data and matched:
            for item in self._decoder.feed(data):
                if isinstance(item, int):
                    self._on_command(port, item, now)
        if self.streaming and now >= self._next_frame:
            self._next_frame = now + 1.0 / self.rate_hz
            self._emit(port, now, matched)

    def _on_command(self, port: PtyPort, command: int, now: float) -> None:
        if command == gy.Command.CONTINUOUS:
            self.streaming = True
        elif command == gy.Command.QUERY:
            self.streaming = False
            self._emit(port, now, matched=True)
        elif command in (gy.Command.BAUD_9600, gy.Command.BAUD_115200):
            self.pending_baud = 9600 if command == gy.Command.BAUD_9600 else 115200
        elif command in (gy.Command.AUTOSTART_ON, gy.Command.AUTOSTART_OFF):
            self.pending_autostart = command == gy.Command.AUTOSTART_ON

    def frame(self, now: float) -> bytes:
        """The next data frame, with any injected fault applied."""
        if self.raw_override is not None:
            obj_raw, amb_raw = self.raw_override
        else:
            obj, amb = self.scene.temperatures(now)
            obj_raw, amb_raw = gy.to_raw(obj), gy.to_raw(amb)
        frame_type = gy.TYPE_TEMPERATURE
        if self.wrong_type:
            self.wrong_type -= 1
            frame_type = 0x25
        frame = bytearray(gy.encode_frame(obj_raw, amb_raw, frame_type=frame_type))
        if self.corrupt:
            self.corrupt -= 1
            frame[-1] ^= 0x5A
        if self.stray:
            frame[:0] = b"\x5a" * self.stray
            self.stray = 0
        return bytes(frame)

    def _emit(self, port: PtyPort, now: float, matched: bool) -> None:
        frame = self.frame(now)
        if not matched:
            if self.mismatch == "garbage":  # what a UART decodes at the wrong rate
                self.send(port, bytes(self._rng.randrange(256) & 0xF7 for _ in frame))
            return
        self.send(port, frame)
        self.frames_sent += 1

    # --- commands -----------------------------------------------------------------------

    def cmd_person(self, peak: str = "34.2", hold: str = "2.0") -> str:
        """Step in front of the sensor: skin PEAK C for HOLD s (rising and falling 0.5 s)."""
        self.scene.person(_now(), float(peak), float(hold))
        return f"person {peak} C for {hold} s"

    def cmd_fever(self, peak: str = "36.8", hold: str = "2.0") -> str:
        """A person with a fever skin temperature (body estimate adds the gate's offset)."""
        return self.cmd_person(peak, hold)

    def cmd_object(self, value: str = "auto") -> str:
        """Fix the object temperature (``object auto`` returns to the scene)."""
        self.scene.fixed_object_c = None if value == "auto" else float(value)
        return f"object {value}"

    def cmd_ambient(self, value: str) -> str:
        """Set the ambient temperature."""
        self.scene.ambient_c = float(value)
        return f"ambient {value}"

    def cmd_raw(self, obj: str = "auto", amb: str = "0") -> str:
        """Send these raw int16 hundredths (e.g. ``raw 32767 2510``); ``raw auto`` to stop."""
        self.raw_override = None if obj == "auto" else (_int16(obj), _int16(amb))
        return f"raw {obj} {amb}"

    def cmd_corrupt(self, count: str = "1") -> str:
        """The next COUNT frames carry a wrong checksum."""
        self.corrupt = int(count)
        return f"corrupt {count}"

    def cmd_stray(self, count: str = "1") -> str:
        """Put COUNT stray 0x5A bytes before the next frame."""
        self.stray = int(count)
        return f"stray {count}"

    def cmd_wrongtype(self, count: str = "1") -> str:
        """The next COUNT frames are of type 0x25, as another GY module would send."""
        self.wrong_type = int(count)
        return f"wrongtype {count}"

    def cmd_noise(self, value: str) -> str:
        """Sensor noise in C (0 for exactly repeating values: a stuck sensor)."""
        self.scene.noise_c = float(value)
        return f"noise {value}"

    def cmd_baud(self, value: str) -> str:
        """The module's baud from now on (as if set and power-cycled)."""
        self.baud = self.pending_baud = _baud(value)
        return f"baud {self.baud}"

    def cmd_mismatch(self, how: str) -> str:
        """What the host gets at the wrong baud: ``garbage`` or ``silence``."""
        if how not in ("garbage", "silence"):
            raise SimError("mismatch garbage|silence")
        self.mismatch = how
        return f"mismatch {how}"

    def cmd_rate(self, hz: str) -> str:
        """Streaming rate in frames per second."""
        if not 0.5 <= float(hz) <= 50:
            raise SimError("rate must be within 0.5-50 Hz")
        self.rate_hz = float(hz)
        return f"rate {hz}"

    def cmd_stream(self, value: str = "on") -> str:
        """Start or stop streaming, as the continuous and query commands do."""
        self.streaming = flag(value)
        return f"stream {value}"

    def cmd_status(self) -> str:
        """The simulator's state as JSON."""
        port = self.port
        return json.dumps(
            {
                "model": self.model,
                "pty": None if port is None or port.closed else port.path,
                "baud": self.baud,
                "host_baud": None if port is None or port.closed else port.host_baud(),
                "streaming": self.streaming,
                "dead": self.dead,
                "frames_sent": self.frames_sent,
            }
        )


def _now() -> float:
    return time.monotonic()


def _int16(text: str) -> int:
    value = int(text, 0)
    if not -32768 <= value <= 32767:
        raise SimError(f"{text} is not a signed 16-bit value")
    return value


def _baud(text: str) -> int:
    value = int(text)
    if value not in (9600, 115200):
        raise SimError("the GY modules run at 9600 or 115200")
    return value

"""One simulated lane, played from outside: the person and the staff at the gate.

Three control sockets per lane (docs/gate.md, "A simulated lane"; docs/hardware.md,
"Simulators"): the scanner simulator's (``present TEXT``), the thermometer simulator's
(``person PEAK HOLD``) and the gate daemon's own (``keys``, ``press``, ``hold``, ``opened``).
Each command is one line, answered with one line starting ``ok`` or ``error``.
"""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

ANSWER_TIMEOUT_S = 10.0
STEP_ASIDE_S = 0.8  # the sensor's ramp down (0.5 s) and its readings' max age, with a margin


class LaneError(RuntimeError):
    """A simulator or the gate refused a command (its answer is the message)."""


class Socket:
    """One control socket, one connection, one command at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    async def send(self, line: str) -> str:
        """Send one command, return the answer; LaneError if it starts with ``error``."""
        async with self._lock:
            if self._conn is None:
                self._conn = await asyncio.open_unix_connection(str(self.path))
            reader, writer = self._conn
            try:
                writer.write(line.encode() + b"\n")
                await writer.drain()
                async with asyncio.timeout(ANSWER_TIMEOUT_S):
                    answer = (await reader.readline()).decode("utf-8", "replace").strip()
            except BaseException:  # cut short (a stop, a timeout): its answer must not be
                writer.close()  # read as the next command's, so the next one reconnects
                self._conn = None
                raise
        if not answer.startswith("ok"):
            raise LaneError(
                f"{self.path.name}: {line.split(maxsplit=1)[0]}: {answer or 'no answer'}"
            )
        return answer

    async def close(self) -> None:
        """Hang up."""
        if self._conn is not None:
            self._conn[1].close()
            self._conn = None


class Lane:
    """What a person and the staff can do at one lane."""

    def __init__(self, gate: str, root: Path) -> None:
        self.gate = gate
        self.scanner = Socket(root / "scanner.sock")
        self.thermometer = Socket(root / "thermo.sock")
        self.panel = Socket(root / "lane.sock")
        self.sensor_free_at = 0.0  # when the last person has left the thermometer's view

    async def present(self, text: str, seconds: float = 0.3) -> None:
        """Hold a QR code in front of the scanner, once the previous person has stepped aside.

        Otherwise the gate would measure the previous person for this one.
        """
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, self.sensor_free_at - loop.time()))
        await self.scanner.send(f"present {shlex.quote(text)} {seconds}")

    async def stand(self, body_c: float, hold_s: float = 2.0) -> None:
        """Step in front of the thermometer (the gate's offset is 0: skin = body estimate)."""
        await self.thermometer.send(f"person {body_c:.1f} {hold_s}")
        loop = asyncio.get_running_loop()
        self.sensor_free_at = loop.time() + 0.5 + hold_s + STEP_ASIDE_S

    async def keys(self, digits: str) -> None:
        """Type on the keypad."""
        await self.panel.send(f"keys {digits}")

    async def press(self) -> None:
        """Press the staff override button (open once)."""
        await self.panel.send("press")

    async def hold(self) -> None:
        """Hold the override button: the gate then waits for a reason digit."""
        await self.panel.send("hold")

    async def opened(self) -> int:
        """How many times the relay has opened so far."""
        return int((await self.panel.send("opened")).split()[1])

    async def said(self) -> dict[str, int]:
        """How often the lane's voice said each prompt (clip id -> count), from the simulated
        speaker's record."""
        words = (await self.panel.send("said")).split()[1:]
        return {clip: int(count) for clip, _, count in (w.rpartition("=") for w in words)}

    async def wait_opened(self, before: int, within: float) -> bool:
        """Whether the relay opened again within ``within`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            if await self.opened() > before:
                return True
            await asyncio.sleep(0.2)
        return False

    async def close(self) -> None:
        """Hang up every socket."""
        for sock in (self.scanner, self.thermometer, self.panel):
            await sock.close()

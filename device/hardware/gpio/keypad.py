"""gpiozero adapter for a 3x4 matrix keypad: rows are outputs, columns inputs with pull-ups.

A scanning thread drives one row low at a time, reads the columns (a pressed key pulls its
column low), and feeds the set of keys down to ``KeyMatrix`` for debouncing; each debounced
key crosses to the loop through the adapter's ``EventBridge``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from gpiozero import DigitalInputDevice, DigitalOutputDevice

from device.hardware.bridge import EventBridge
from device.hardware.gpio.keymatrix import KEYMAP_3X4, KeyMatrix


class GpiozeroKeypad:
    """3x4 keypad; satisfies ``device.ports.Keypad``."""

    def __init__(
        self,
        rows: tuple[int, ...],
        cols: tuple[int, ...],
        *,
        scan_interval: float = 0.01,
        settle: float = 0.03,
        pin_factory: Any = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if (len(rows), len(cols)) != (4, 3):
            raise ValueError("a 3x4 keypad has 4 rows and 3 columns")
        self._bridge: EventBridge[str] = EventBridge(maxsize=32)
        self._bridge.bind(loop)
        # active = driven low; idle rows float high through the column pull-ups
        self._rows = [
            DigitalOutputDevice(p, active_high=False, initial_value=False, pin_factory=pin_factory)
            for p in rows
        ]
        self._cols = [DigitalInputDevice(p, pull_up=True, pin_factory=pin_factory) for p in cols]
        self._matrix = KeyMatrix(settle)
        self._interval = scan_interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._scan_from_thread, name="keypad", daemon=True)
        self._thread.start()

    def _keys_down(self) -> frozenset[str]:
        down = set()
        for r, row in enumerate(self._rows):
            row.on()
            for c, col in enumerate(self._cols):
                if col.is_active:
                    down.add(KEYMAP_3X4[r][c])
            row.off()
        return frozenset(down)

    def _scan_from_thread(self) -> None:
        while not self._stop.wait(self._interval):
            key = self._matrix.update(self._keys_down(), time.monotonic())
            if key is not None:
                self._bridge.put_threadsafe(key)

    async def next_key(self, within: float) -> str | None:
        """The next key within ``within`` seconds, or None."""
        return await self._bridge.get_within(within)

    def clear(self) -> None:
        """Forget keys pressed before now."""
        self._bridge.clear()

    def close(self) -> None:
        """Stop scanning and release the pins."""
        self._stop.set()
        self._thread.join(1.0)
        for device in (*self._rows, *self._cols):
            device.close()

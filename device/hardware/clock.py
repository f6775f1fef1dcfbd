"""The system clock behind ``device.ports.Clock``, and the OS's word on its synchronisation
behind ``device.ports.SystemSync`` (chosen by ``[clock] os_sync``).

``KernelSync`` asks the kernel with ``adjtimex(2)`` in read-only mode (``modes = 0``, no
privilege needed): the clock is synchronised when the kernel's ``STA_UNSYNC`` flag is clear
(systemd-timesyncd and chronyd clear it once they steer the clock; the kernel sets it again
when ``maxerror`` grows past 16 s without an update) and ``maxerror`` is within the bound.
This is what ``timedatectl``'s ``NTPSynchronized`` reports. Anything unexpected (no libc, not
Linux, ``TIME_ERROR``) reads as "not synchronised".
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time

logger = logging.getLogger(__name__)

STA_UNSYNC = 0x0040
TIME_ERROR = 5


class SystemClock:
    """Wall time from ``time.time()``, intervals from ``time.monotonic()``."""

    def wall(self) -> float:
        """Seconds since the epoch (pass validity; may jump)."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds that never go back (debounce, pulses, timeouts)."""
        return time.monotonic()


class _Timex(ctypes.Structure):
    """The head of glibc's ``struct timex`` (native ``long``); the rest is padding room."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("rest", ctypes.c_byte * 256),  # the kernel writes the whole struct: room to spare
    ]


class KernelSync:
    """The kernel's NTP state through ``adjtimex(2)``, read-only."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("c")
        self._adjtimex = None
        try:
            libc = ctypes.CDLL(name, use_errno=True)
            self._adjtimex = libc.adjtimex
        except (OSError, AttributeError, TypeError) as exc:
            logger.warning("no adjtimex here (%s): the OS never vouches for the clock", exc)

    def synchronised(self, max_error_s: float) -> bool:
        """STA_UNSYNC clear and ``maxerror`` (microseconds) within ``max_error_s``."""
        if self._adjtimex is None:
            return False
        tx = _Timex()  # modes = 0: read only
        state = self._adjtimex(ctypes.byref(tx))
        if state < 0 or state == TIME_ERROR or tx.status & STA_UNSYNC:
            return False
        return bool(0 <= tx.maxerror <= max_error_s * 1_000_000)


class NoSync:
    """``os_sync = "none"``: the OS never vouches (only an RTC or the server do)."""

    def synchronised(self, max_error_s: float) -> bool:
        """Never."""
        return False


def build_sync(kind: str) -> KernelSync | NoSync:
    """The ``SystemSync`` adapter ``[clock] os_sync`` names."""
    return KernelSync() if kind == "kernel" else NoSync()

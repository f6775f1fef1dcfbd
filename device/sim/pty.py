"""The simulator's end of a pseudo-terminal: raw, non-blocking, with the host's baud visible.

The simulator keeps the slave end open too, so it can read the termios settings the host
applied (``termios.tcgetattr``: a pty ignores baud, but carries it) and so that reads on the
master never fail while no host is attached. "Unplug" closes both ends: a host reading the
slave gets EIO, exactly as when a USB adapter disappears. An optional symlink plays the part
of a udev name (``/dev/serial/by-id/...``): it follows the pty across unplug and replug.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import termios
import tty
from pathlib import Path

logger = logging.getLogger(__name__)

_SPEEDS = {
    getattr(termios, f"B{rate}"): rate
    for rate in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
}


class PtyPort:
    """One plugged-in pty; ``close()`` unplugs it."""

    def __init__(self, link: Path | None = None) -> None:
        self._master, self._slave = os.openpty()
        for fd in (self._master, self._slave):
            tty.setraw(fd)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self.link = link
        if link is not None:
            tmp = link.with_name(link.name + ".tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.path)
            tmp.replace(link)
        self.closed = False

    def host_baud(self) -> int | None:
        """The baud the host set on its end (None if it is not a standard rate)."""
        try:
            attrs = termios.tcgetattr(self._slave)
        except termios.error:
            return None
        return _SPEEDS.get(attrs[5])

    def wait_readable(self, timeout: float) -> bool:
        """True when the host wrote something, waiting up to ``timeout`` seconds."""
        if self.closed:
            return False
        try:
            ready, _, _ = select.select([self._master], [], [], timeout)
        except (OSError, ValueError):  # unplugged meanwhile
            return False
        return bool(ready)

    def read_now(self) -> bytes:
        """What the host wrote, without waiting."""
        if self.closed:
            return b""
        try:
            return os.read(self._master, 4096)
        except OSError:  # nothing there (non-blocking) or unplugged meanwhile
            return b""

    def write(self, data: bytes) -> int:
        """Send to the host; bytes nobody reads are lost, as on a real wire."""
        if self.closed:
            return 0
        try:
            return os.write(self._master, data)
        except BlockingIOError:
            logger.debug("pty buffer full: %d bytes lost", len(data))
            return 0
        except OSError as exc:
            logger.debug("pty write failed: %s", exc)
            return 0

    def close(self) -> None:
        """Unplug: close both ends and remove the symlink."""
        if self.closed:
            return
        self.closed = True
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

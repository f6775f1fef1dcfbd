"""systemd integration without a dependency: ``sd_notify`` over the notify socket.

``Type=notify`` units learn the daemon is ready (``READY=1``) and, with ``WatchdogSec=``, expect
``WATCHDOG=1`` at least every ``WATCHDOG_USEC``. The gate pings from its event loop only while
it is healthy, so a wedged loop or a dead lane task gets the unit restarted (relay off first:
the process dies and the pin is released).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable

logger = logging.getLogger(__name__)


def notify(message: str) -> bool:
    """Send one notification; False when not started by systemd (no NOTIFY_SOCKET)."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path  # abstract namespace
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError as exc:
            logger.warning("sd_notify %r failed: %s", message, exc)
            return False
    return True


def watchdog_interval() -> float | None:
    """Half the unit's watchdog period in seconds, or None if the watchdog is off."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


async def watchdog(healthy: Callable[[], bool]) -> None:
    """Ping the watchdog from the event loop while ``healthy()``; stop pinging otherwise."""
    interval = watchdog_interval()
    if interval is None:
        return
    while True:
        if healthy():
            notify("WATCHDOG=1")
        else:
            logger.error("unhealthy: not feeding the watchdog; systemd will restart the gate")
        await asyncio.sleep(interval)

"""What every simulator shares: the pty lifecycle, the worker thread and the command language.

A simulator runs one thread that owns its pty. Commands arrive as text lines (stdin, a
control socket, or tests calling ``command()``) and are applied under a lock; each answers with
one line (``ok ...`` or ``error ...``). ``unplug``/``replug`` close and reopen the pty, and
every new pty is announced through ``on_pty`` (the CLI prints ``PTY /dev/pts/N``).
"""

from __future__ import annotations

import logging
import shlex
import threading
import time
from collections.abc import Callable
from pathlib import Path

from device.sim.pty import PtyPort

logger = logging.getLogger(__name__)

TICK_S = 0.005


class SimError(ValueError):
    """A command the simulator does not understand or cannot apply."""


class Simulator:
    """Base class: subclasses implement ``tick()`` and ``cmd_*`` methods."""

    def __init__(self, *, link: Path | None = None, on_pty: Callable[[str], None] | None = None):
        self.lock = threading.RLock()
        self.link = link
        self.on_pty = on_pty
        self.port: PtyPort | None = None
        self.dead = False
        self.split = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> str:
        """Plug in and start the worker thread; returns the pty path."""
        path = self.plug()
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        return path

    def stop(self) -> None:
        """Stop the thread and unplug."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self.unplug()

    def plug(self) -> str:
        """Open a new pty (power comes on: pending settings apply)."""
        with self.lock:
            if self.port is None or self.port.closed:
                self.port = PtyPort(self.link)
                self.power_on()
                if self.on_pty is not None:
                    self.on_pty(self.port.path)
            return self.port.path

    def unplug(self) -> None:
        """Close the pty: the host sees the device disappear."""
        with self.lock:
            if self.port is not None:
                self.port.close()

    @property
    def path(self) -> str:
        """The current pty path."""
        assert self.port is not None
        return self.port.path

    def _run(self) -> None:
        while not self._stop.is_set():
            port = self.port
            if port is None or port.closed:
                self._stop.wait(TICK_S)
                continue
            ready = port.wait_readable(TICK_S)  # outside the lock: commands never wait on it
            with self.lock:
                # An unplug closes the fds and a replug may get the same numbers: read only if
                # this is still the current port, so no byte meant for a new pty is stolen.
                if port is self.port and not port.closed:
                    self.tick(port, port.read_now() if ready else b"", time.monotonic())

    # --- output helpers -----------------------------------------------------------------

    def send(self, port: PtyPort, data: bytes) -> None:
        """Write to the host, in pieces when ``split`` is on; nothing while ``dead``."""
        if self.dead or not data:
            return
        if not self.split or len(data) < 2:
            port.write(data)
            return
        cut = max(1, len(data) // 2)
        port.write(data[:cut])
        time.sleep(0.003)
        port.write(data[cut:])

    # --- commands -----------------------------------------------------------------------

    def command(self, line: str) -> str:
        """Apply one command line; returns ``ok ...`` or ``error ...`` (never raises)."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            return f"error {exc}"
        if not words:
            return "ok"
        handler = getattr(self, "cmd_" + words[0].replace("-", "_"), None)
        if handler is None:
            return f"error unknown command {words[0]!r}; try help"
        try:
            with self.lock:
                result = handler(*words[1:])
        except (SimError, TypeError, ValueError) as exc:
            return f"error {exc}"
        return "ok" + (f" {result}" if result else "")

    def cmd_help(self) -> str:
        """List the commands."""
        names = sorted(n[4:].replace("_", "-") for n in dir(self) if n.startswith("cmd_"))
        return " ".join(names)

    def cmd_unplug(self) -> str:
        """Pull the cable."""
        self.unplug()
        return "unplugged"

    def cmd_replug(self) -> str:
        """Plug the cable back in (a new pty; the --link name follows it)."""
        return self.plug()

    def cmd_power_cycle(self) -> str:
        """Unplug and replug: settings saved for the next power-up take effect."""
        self.unplug()
        return self.plug()

    def cmd_dead(self, flag: str = "on") -> str:
        """Stop sending anything (``dead off`` to revive), staying plugged in."""
        self.dead = _flag(flag)
        return f"dead {flag}"

    def cmd_split(self, flag: str = "on") -> str:
        """Write every frame in two pieces."""
        self.split = _flag(flag)
        return f"split {flag}"

    # --- what subclasses implement ------------------------------------------------------

    def power_on(self) -> None:
        """Apply what happens at power-up (pending settings, boot state)."""

    def tick(self, port: PtyPort, data: bytes, now: float) -> None:
        """Handle host bytes and produce output; called every few milliseconds."""
        raise NotImplementedError


def _flag(value: str) -> bool:
    if value not in ("on", "off"):
        raise SimError(f"expected on or off, not {value!r}")
    return value == "on"


def flag(value: str) -> bool:
    """Parse ``on``/``off``."""
    return _flag(value)

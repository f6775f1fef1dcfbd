"""pyserial transport and the supervised reader thread every serial driver shares.

Ports are opened with ``serial.serial_for_url``, so configuration may name ``/dev/serial0``, a
``/dev/serial/by-id/...`` or udev name, a pty, ``loop://`` or ``socket://host:port``, or a glob
(``/dev/ttyACM*``) resolved again at every (re)open, so a device that comes back under a new
name is found. While a session runs, a device path that disappears (the USB cable pulled) ends
it within ``PATH_CHECK_S`` even if the device never sends anything.
``SerialException`` and ``OSError`` become ``PortError`` here and nowhere else. A driver runs
its blocking session (handshake, then read loop) on one thread; when the session fails (port
gone, device silent, no handshake) the thread reports ``offline``, closes the port and
reopens it with back-off until ``run()`` is cancelled.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
import queue
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import serial

from device.hardware.bridge import Backoff, EventBridge
from device.hardware.errors import DeviceSilent, HandshakeError, HardwareError, PortError
from device.ports import DeviceState, DeviceStatus

logger = logging.getLogger(__name__)

E = TypeVar("E")
READ_TIMEOUT_S = 0.02
PATH_CHECK_S = 1.0
_GLOB_CHARS = frozenset("*?[")


class SerialLink:
    """A thin wrapper over a pyserial port that raises only ``PortError``."""

    def __init__(self, port: Any, url: str) -> None:
        self.port = port
        self.url = url
        # the name opened and the device node behind it: both must stay (a udev link goes too)
        self._paths = (url, os.path.realpath(url)) if url.startswith("/") else ()

    def gone(self) -> bool:
        """True when the device path opened (or the node it led to) no longer exists."""
        return any(not os.path.exists(path) for path in self._paths)

    def read(self, size: int = 256) -> bytes:
        """Whatever arrives within the read timeout (possibly nothing)."""
        try:
            waiting = self.port.in_waiting
            return bytes(self.port.read(max(1, min(size, waiting or 1))))
        except (serial.SerialException, OSError, TypeError) as exc:
            # pyserial raises TypeError from read() when the fd vanished under it.
            raise PortError(f"read from {self.url} failed: {exc}") from exc

    def write(self, data: bytes) -> None:
        """Send ``data`` as one write."""
        try:  # no flush(): tcdrain can block on a stalled peer; write() already hands it all over
            self.port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise PortError(f"write to {self.url} failed: {exc}") from exc

    def set_baud(self, baud: int) -> None:
        """Change the line rate (autobaud)."""
        try:
            self.port.baudrate = baud
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortError(f"cannot set {baud} baud on {self.url}: {exc}") from exc

    def flush_input(self) -> None:
        """Drop bytes received but not read (after a mode or baud switch)."""
        try:
            self.port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise PortError(f"flush of {self.url} failed: {exc}") from exc

    def close(self) -> None:
        """Close, ignoring errors of an already dead port (logged)."""
        try:
            self.port.close()
        except (serial.SerialException, OSError) as exc:
            logger.debug("closing %s: %s", self.url, exc)


def resolve(url: str) -> list[str]:
    """The paths ``url`` names now: itself, or a glob's matches in order (none: PortError)."""
    if not url.startswith("/") or not _GLOB_CHARS & set(url):
        return [url]
    matches = sorted(glob.glob(url))
    if not matches:
        raise PortError(f"no device matches {url}")
    return matches


def open_link(url: str, baud: int, *, timeout: float = READ_TIMEOUT_S) -> SerialLink:
    """Open ``url`` (the first of a glob's matches that opens) at ``baud`` 8N1, with exclusive
    access where the platform supports it."""
    error: PortError | None = None
    for path in resolve(url):
        try:
            return _open_one(path, baud, timeout)
        except PortError as exc:
            error = error or exc
    raise error or PortError(f"cannot open {url}")


def _open_one(url: str, baud: int, timeout: float) -> SerialLink:
    try:
        port = serial.serial_for_url(
            url, baudrate=baud, timeout=timeout, write_timeout=1.0, do_not_open=True
        )
        if hasattr(port, "exclusive") and url.startswith("/"):
            port.exclusive = True
        port.open()
    except (serial.SerialException, OSError, ValueError) as exc:
        raise PortError(f"cannot open {url}: {exc}") from exc
    return SerialLink(port, url)


@dataclass(frozen=True, slots=True)
class _WorkerExit:
    """The worker thread ended; ``error`` is set when it died of a bug."""

    error: BaseException | None


class SerialDriver(Generic[E]):
    """Loop side of a supervised serial device: ``run()``, ``state`` and ``events()``."""

    name = "serial"

    def __init__(self, url: str, *, backoff_max: float = 5.0) -> None:
        self.url = url
        self._state = DeviceState.OFFLINE
        self._bridge: EventBridge[E | _WorkerExit] = EventBridge(on_item=self._on_item)
        self._out: EventBridge[E] = EventBridge()
        self._statuses: EventBridge[DeviceStatus] = EventBridge(maxsize=16)
        self._commands: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._backoff_max = backoff_max
        self._stop = threading.Event()
        self._state_is_ok = False  # worker thread's own view, for reporting changes only

    @property
    def state(self) -> DeviceState:
        """Current health as last reported by the worker thread."""
        return self._state

    async def events(self) -> AsyncIterator[E]:
        """Every event the driver produced, in order."""
        async for item in self._out.stream():
            yield item

    async def statuses(self) -> AsyncIterator[DeviceStatus]:
        """Each health change, also on a channel of its own: a consumer busy with the events
        (the lane, with a person in the flow) does not delay the news of a lost device."""
        async for item in self._statuses.stream():
            yield item

    async def run(self) -> None:
        """Run the worker thread until cancelled; re-raise if it dies of a bug."""
        self._bridge.bind()
        self._stop.clear()
        thread = threading.Thread(target=self._supervise_from_thread, name=self.name, daemon=True)
        thread.start()
        try:
            while True:
                item = await self._bridge.get()
                if isinstance(item, _WorkerExit):
                    if item.error is not None:
                        raise HardwareError(f"{self.name} worker died") from item.error
                    return
        finally:
            self._stop.set()
            await asyncio.to_thread(thread.join, 3.0)

    def _on_item(self, item: E | _WorkerExit) -> None:
        """Loop side: track state, forward events to consumers."""
        if isinstance(item, _WorkerExit):
            return
        if isinstance(item, DeviceStatus):
            self._state = item.state
            self._statuses.put_nowait(item)
        self._handle_on_loop(item)
        self._out.put_nowait(item)

    def _handle_on_loop(self, item: E) -> None:
        """Hook for subclasses that keep derived state (latest reading)."""

    def send_threadsafe(self, command: bytes) -> None:
        """Queue bytes for the worker to write between reads."""
        self._commands.put(command)

    # --- worker thread -------------------------------------------------------------------

    def emit_from_thread(self, item: E) -> None:
        """Hand an event to the loop (the adapter's one crossing)."""
        self._bridge.put_threadsafe(item)

    def _status_from_thread(self, state: DeviceState, detail: str) -> None:
        logger.info("%s %s: %s", self.name, state.value, detail)
        self.emit_from_thread(self._status(state, detail))  # type: ignore[arg-type]

    def _status(self, state: DeviceState, detail: str) -> DeviceStatus:
        return DeviceStatus(self.name, state, detail, time.monotonic())

    def _supervise_from_thread(self) -> None:
        error: BaseException | None = None
        try:
            self._reopen_loop_from_thread()
        except BaseException as exc:  # a bug: report it to run(), which re-raises
            logger.exception("%s worker crashed", self.name)
            error = exc
        self._bridge.put_threadsafe(_WorkerExit(error))

    def _reopen_loop_from_thread(self) -> None:
        backoff = Backoff(maximum=self._backoff_max)
        last_detail = ""
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._one_session_from_thread()
            except (PortError, DeviceSilent, HandshakeError) as exc:
                detail = str(exc)[:64]
                if self._state_is_ok or detail != last_detail:
                    self._status_from_thread(DeviceState.OFFLINE, detail)
                last_detail = detail
                self._state_is_ok = False
            if time.monotonic() - started > 10.0:
                backoff.reset()
            self._stop.wait(backoff.next())

    def _one_session_from_thread(self) -> None:
        link = self._open_from_thread()
        try:
            detail = self.handshake_from_thread(link)
            self._state_is_ok = True
            self._status_from_thread(DeviceState.OK, detail)
            checked = time.monotonic()
            while not self._stop.is_set():
                self._drain_commands_from_thread(link)
                self.pump_from_thread(link, time.monotonic())
                if time.monotonic() - checked >= PATH_CHECK_S:
                    checked = time.monotonic()
                    if link.gone():
                        raise PortError(f"device path gone (unplugged): {link.url}")
        finally:
            link.close()

    def _drain_commands_from_thread(self, link: SerialLink) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            link.write(command)

    # --- what each model implements ------------------------------------------------------

    def _open_from_thread(self) -> SerialLink:
        raise NotImplementedError

    def handshake_from_thread(self, link: SerialLink) -> str:
        """Find the baud, configure the device and return its identity for the log."""
        raise NotImplementedError

    def pump_from_thread(self, link: SerialLink, now: float) -> None:
        """Read once, decode, emit; raise ``DeviceSilent`` when supervision says so."""
        raise NotImplementedError

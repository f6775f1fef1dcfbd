"""A control socket for a simulated lane (``hardware = "sim"``): tests, the demo, a person.

One command per line, one answer per line:
``press`` / ``hold`` (the override button), ``keys 6688`` (the keypad), ``door open|shut``,
``lockdown on|off``, ``relay`` (answers ``on`` or ``off``), ``opened`` (pulses so far),
``leds`` (``green=on red=off``), ``said`` (clips the simulated speaker played, per clip id:
``ok step.scan=3 reason.expired=1``), ``help``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from device.actuators import RelayOwner
from device.hardware.gpio.devices import SimPanel
from device.ports import Speaker
from device.voice.sim import SimSpeaker

logger = logging.getLogger(__name__)

HOLD_S = 2.5
_COMMANDS = (
    "press | hold | keys DIGITS | door open|shut | lockdown on|off | relay | opened | leds | said"
)


class SimControl:
    """Maps command lines onto the simulated panel."""

    def __init__(self, panel: SimPanel, relay: RelayOwner, speaker: Speaker | None = None) -> None:
        self.panel, self.relay, self.speaker = panel, relay, speaker

    async def command(self, line: str) -> str:
        """Apply one command; always answers, never raises."""
        words = line.split()
        if not words:
            return "ok"
        handler: Callable[[list[str]], Awaitable[str]] | None = getattr(
            self, f"_cmd_{words[0]}", None
        )
        if handler is None:
            return f"error unknown command; try: {_COMMANDS}"
        try:
            return await handler(words[1:])
        except (ValueError, AssertionError, StopIteration) as exc:
            return f"error {exc or 'bad arguments'}"

    async def _cmd_help(self, args: list[str]) -> str:
        return f"ok {_COMMANDS}"

    async def _cmd_press(self, args: list[str]) -> str:
        await self.panel.press()
        return "ok pressed"

    async def _cmd_hold(self, args: list[str]) -> str:
        await self.panel.press(HOLD_S)
        return "ok held"

    async def _cmd_keys(self, args: list[str]) -> str:
        if len(args) != 1 or not set(args[0]) <= set("0123456789*#"):
            raise ValueError("keys takes one word of 0-9, * and #")
        await self.panel.type_keys(args[0])
        return f"ok typed {len(args[0])}"

    async def _cmd_door(self, args: list[str]) -> str:
        if args not in (["open"], ["shut"]):
            raise ValueError("door open|shut")
        self.panel.door(args[0] == "open")
        return f"ok door {args[0]}"

    async def _cmd_lockdown(self, args: list[str]) -> str:
        if args not in (["on"], ["off"]):
            raise ValueError("lockdown on|off")
        self.panel.lockdown(args[0] == "on")
        return f"ok lockdown {args[0]}"

    async def _cmd_relay(self, args: list[str]) -> str:
        return "ok on" if self.panel.relay_on() else "ok off"

    async def _cmd_opened(self, args: list[str]) -> str:
        return f"ok {self.relay.opened}"

    async def _cmd_leds(self, args: list[str]) -> str:
        green, red = self.panel.leds()
        return f"ok green={'on' if green else 'off'} red={'on' if red else 'off'}"

    async def _cmd_said(self, args: list[str]) -> str:
        if not isinstance(self.speaker, SimSpeaker):
            raise ValueError('no simulated speaker ([voice] output = "sim")')
        counts = sorted(self.speaker.counts.items())
        return " ".join(["ok", *(f"{clip}={n}" for clip, n in counts)])


async def serve(control: SimControl, path: Path) -> None:
    """Serve the control socket at ``path`` until cancelled.

    A stop with a client still connected must end quietly: asyncio runs each client's handler
    as a task of its own, and on Python 3.11 a handler task that ends cancelled makes the
    stream protocol's done callback raise (``Exception in callback
    StreamReaderProtocol.connection_made…``, a CancelledError traceback at ERROR). So the
    handlers are ours to end: on the way out every connection is closed, which ends its
    handler's read, and a handler cut short mid-command returns instead of re-raising.
    """
    handlers: set[asyncio.Task[None]] = set()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            while line := await reader.readline():
                answer = await control.command(line.decode("utf-8", "replace").strip())
                writer.write(answer.encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass  # the client went away; nothing to answer
        except asyncio.CancelledError:
            pass  # the lane is stopping (see above): nobody awaits this task
        finally:
            handlers.discard(task)
            writer.close()

    await asyncio.to_thread(path.unlink, missing_ok=True)
    server = await asyncio.start_unix_server(client, path=str(path))
    try:
        await server.serve_forever()
    finally:
        server.close()  # no new clients; then end the connected ones, then wait for the rest
        for task in list(handlers):
            task.cancel()
        if handlers:
            await asyncio.wait(list(handlers), timeout=1.0)
        await server.wait_closed()

"""A TCP proxy between one gate and the broker, so the demo can cut that gate's network.

``cut()`` drops every connection through it and refuses new ones (the gate sees its link fail,
as when a cable is pulled or a switch reboots); ``restore()`` lets connections through again.
Loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024


class CutProxy:
    """Forwards ``127.0.0.1:listen_port`` to ``127.0.0.1:target_port`` unless cut."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port, self.target_port = listen_port, target_port
        self.is_cut = False
        self.connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on the loopback port."""
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.listen_port)

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        self._drop_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        """The network is gone: drop every connection, refuse new ones."""
        self.is_cut = True
        self._drop_all()
        logger.info("proxy %d: network cut", self.listen_port)

    def restore(self) -> None:
        """The network is back."""
        self.is_cut = False
        logger.info("proxy %d: network restored", self.listen_port)

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError as exc:
            logger.warning("proxy %d: broker unreachable: %s", self.listen_port, exc)
            writer.transport.abort()
            return
        self.connections += 1
        self._writers |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction until either side closes; then close the other side too."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass  # the other side went away, or the demo cut the network: the copy ends here
    finally:
        with contextlib.suppress(ConnectionError, RuntimeError):
            writer.close()

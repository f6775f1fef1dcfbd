"""The lane display's page server: asyncio streams on the loopback, GET only, the page, its two
files, the current view as JSON and a Server-Sent Events stream of views.

It never holds up the lane: ``show`` (an announcer listener) builds one view and offers it to
each stream's small queue, dropping the oldest when a slow reader falls behind (the newest view
always wins). Request heads are bounded in size and time, connections and streams in number, so
a slowloris or a megabyte of headers costs the gate a few kilobytes and a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from importlib import resources
from typing import Any

from device.core.cues import Cue
from device.display import http, view

logger = logging.getLogger(__name__)

HEAD_TIMEOUT_S = 5.0  # a request head must arrive whole within this
WRITE_TIMEOUT_S = 5.0  # a reader that takes longer to accept bytes is dropped
KEEPALIVE_S = 15.0  # an SSE comment this often: a dead reader is found, proxies stay open
RETRY_MS = 1000  # what the browser waits before it reconnects a dropped stream
BIND_RETRY_S = 10.0  # the address is taken: the lane runs on, the page tries again
STREAM_QUEUE = 4  # views waiting per stream before the oldest is dropped
FOLLOW_S = 1.0  # how often the lane's language (a policy setting) is looked at
MAX_CLIENTS = 32  # connections at once (streams included)
LINGER_S = 1.0  # after a refusal, what the client still sends is read and dropped this long
LINGER_BYTES = 2 << 20  # or up to this much (so it reads the answer rather than a reset)
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/lane.css": ("lane.css", "text/css; charset=utf-8"),
    "/lane.js": ("lane.js", "text/javascript; charset=utf-8"),
}
SECURITY = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
}


def _frame(seq: int, data: str) -> bytes:
    return f"id: {seq}\ndata: {data}\n\n".encode()


def offer(queue: asyncio.Queue[bytes], item: bytes) -> None:
    """Queue ``item`` without waiting: a full queue loses its oldest entry instead."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(item)


class DisplayServer:
    """The page server of one lane; ``show`` is its announcer listener."""

    def __init__(
        self,
        host: str,
        port: int,
        lane: Callable[[], view.Lane],
        *,
        max_streams: int = 8,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.host, self.port = host, port
        self.lane = lane  # the lane's name and language now (the policy may change it)
        self.max_streams = max_streams
        self.max_clients = max_clients
        self.address: tuple[str, int] | None = None  # once bound (port 0: the one chosen)
        self.bound = asyncio.Event()
        self.seq = 0
        self.cue: Cue | None = None  # the cue on the page now
        self.shown_for: view.Lane | None = None  # and the lane name and language it was built in
        self.state = "{}"  # the current view as JSON
        self.frame = b""  # and as an SSE event
        self.streams: set[asyncio.Queue[bytes]] = set()
        self.refused: dict[int, int] = {}  # status -> requests answered with it
        self._clients: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._files: dict[str, bytes] = {}

    @property
    def url(self) -> str:
        """The page's address (after binding)."""
        if self.address is None:
            raise RuntimeError("the lane display is not listening yet")
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def show(self, cue: Cue) -> None:
        """Make ``cue`` the page's view and offer it to every stream (never waits)."""
        self.seq += 1
        self.cue, self.shown_for = cue, self.lane()
        built = view.build(cue, self.shown_for, self.seq)
        self.state = view.encode(built)
        self.frame = _frame(self.seq, self.state)
        for queue in self.streams:
            offer(queue, self.frame)

    async def run(self) -> None:
        """Serve until cancelled; the address stays free for others meanwhile if it is taken."""
        self._files = _load_static()
        server = await self._listen()
        sock = server.sockets[0].getsockname()
        self.address = (str(sock[0]), int(sock[1]))
        logger.info("lane display on %s", self.url)
        self.bound.set()
        follower = asyncio.create_task(self._follow(), name="display-language")
        try:
            async with server:
                await server.serve_forever()
        finally:  # closing each connection ends its task (cancelling one logs an error in 3.11)
            follower.cancel()
            for writer in self._clients.values():
                writer.close()
            if self._clients:
                await asyncio.wait(list(self._clients), timeout=2.0)

    async def _follow(self) -> None:
        """Show the current cue again when the lane's language changes (a new signed policy),
        not only at the next cue."""
        while True:
            await asyncio.sleep(FOLLOW_S)
            if self.cue is not None and self.lane() != self.shown_for:
                self.show(self.cue)

    async def _listen(self) -> asyncio.Server:
        while True:
            try:
                return await asyncio.start_server(
                    self._client, self.host, self.port, limit=http.HEAD_LIMIT
                )
            except OSError as exc:
                logger.error(
                    "lane display cannot listen on %s:%s (%s); again in %.0f s",
                    self.host,
                    self.port,
                    exc.strerror,
                    BIND_RETRY_S,
                )
                await asyncio.sleep(BIND_RETRY_S)

    def _hosts(self) -> frozenset[str]:
        assert self.address is not None
        port = self.address[1]
        names = ("127.0.0.1", "localhost", "[::1]", f"[{self.host}]", self.host)
        bare = names if port == 80 else ()  # a browser leaves the default port out
        return frozenset((*(f"{name}:{port}" for name in names), *bare))

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients[task] = writer
        try:
            if len(self._clients) > self.max_clients:
                await self._error(writer, http.Refused(503, "too many connections"))
                await _linger(reader, writer)
            else:
                await self._serve(reader, writer)
        except (ConnectionError, TimeoutError) as exc:
            logger.debug("lane display client gone: %r", exc)
        finally:
            self._clients.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await self._head(reader)
            request = http.parse(head, self._hosts())
        except http.Refused as refused:
            await self._error(writer, refused)
            await _linger(reader, writer)
            return
        except asyncio.IncompleteReadError:
            return  # closed before a whole head: nothing to answer
        if request.path == "/events":
            await self._stream(reader, writer)
        elif request.path == "/state":
            await self._send(writer, 200, "application/json", self.state.encode())
        elif request.path in STATIC:
            name, kind = STATIC[request.path]
            await self._send(writer, 200, kind, self._files[name])
        else:
            await self._error(writer, http.Refused(404, "no such page"))

    async def _head(self, reader: asyncio.StreamReader) -> bytes:
        try:
            async with asyncio.timeout(HEAD_TIMEOUT_S):
                return await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            raise http.Refused(408, "request head too slow") from None
        except asyncio.LimitOverrunError:
            raise http.Refused(431, "request head too large") from None

    async def _error(self, writer: asyncio.StreamWriter, refused: http.Refused) -> None:
        self.refused[refused.status] = self.refused.get(refused.status, 0) + 1
        logger.info("lane display refused a request: %s", refused)
        body = json.dumps({"error": refused.status}).encode()
        extra = {"Allow": "GET"} if refused.status == 405 else {}
        if refused.status == 503:
            extra["Retry-After"] = "5"
        await self._send(writer, refused.status, "application/json", body, extra)

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        kind: str,
        body: bytes,
        extra: dict[str, str] | None = None,
    ) -> None:
        headers = {"Content-Type": kind, "Content-Length": str(len(body)), "Connection": "close"}
        writer.write(http.response_head(status, headers | SECURITY | (extra or {})) + body)
        async with asyncio.timeout(WRITE_TIMEOUT_S):
            await writer.drain()

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One SSE reader: the current view at once, then every new one."""
        if len(self.streams) >= self.max_streams:
            await self._error(writer, http.Refused(503, "too many streams"))
            return
        queue: asyncio.Queue[bytes] = asyncio.Queue(STREAM_QUEUE)
        headers = {"Content-Type": "text/event-stream", "Connection": "close"}
        writer.write(http.response_head(200, headers | SECURITY))
        writer.write(f"retry: {RETRY_MS}\n\n".encode() + self.frame)
        self.streams.add(queue)
        gone = asyncio.create_task(_until_eof(reader), name="display-eof")
        try:
            while not gone.done():
                async with asyncio.timeout(WRITE_TIMEOUT_S):
                    await writer.drain()
                await _next(queue, gone, writer)
        finally:
            self.streams.discard(queue)
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gone


async def _next(queue: asyncio.Queue[bytes], gone: asyncio.Task[None], writer: Any) -> None:
    """Write the next view (or a keep-alive comment after a quiet while); return early when
    the reader has gone."""
    getter = asyncio.ensure_future(queue.get())
    done, _ = await asyncio.wait({getter, gone}, timeout=KEEPALIVE_S, return_when="FIRST_COMPLETED")
    if getter in done:
        writer.write(getter.result())
        return
    getter.cancel()
    if not gone.done():
        writer.write(b": still here\n\n")


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Half-close, then drop what the client still sends for a moment: closing with unread
    bytes would reset the connection and lose the answer it is owed."""
    if writer.can_write_eof():
        writer.write_eof()
    dropped = 0
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(LINGER_S):
            while dropped < LINGER_BYTES and (chunk := await reader.read(65536)):
                dropped += len(chunk)


async def _until_eof(reader: asyncio.StreamReader) -> None:
    """Read and drop whatever a stream's reader sends, until it closes (a browser sends none)."""
    while await reader.read(1024):
        pass


def _load_static() -> dict[str, bytes]:
    """The page's three files, read once when the server starts."""
    folder = resources.files("device.display").joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name, _ in STATIC.values()}

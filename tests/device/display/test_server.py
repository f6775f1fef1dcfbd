"""The lane page's HTTP server on a real loopback socket: the routes, the SSE framing, the
limits (head size and time, connections, streams) and the malformed requests of
reliability-security.md 9 that apply to an HTTP endpoint. None of them may hurt the next
client or hold up ``show`` (the announcer's listener)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator

import pytest

from device.config import ConfigError, validate
from device.core.cues import Cue, Phase
from device.display import server as display_server
from device.display import view
from device.display.server import DisplayServer, offer
from protocol.wording import line

READY = Cue(Phase.READY, "step.scan")
MEASURE = Cue(Phase.MEASURE, "step.measure", ("step.measure",), wait_s=20)


@contextlib.asynccontextmanager
async def serving(**kw: int) -> AsyncIterator[DisplayServer]:
    display = DisplayServer("127.0.0.1", 0, lambda: view.Lane("east-in", "zh-CN"), **kw)
    display.show(READY)
    task = asyncio.create_task(display.run())
    await asyncio.wait_for(display.bound.wait(), 5)
    try:
        yield display
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def display() -> AsyncIterator[DisplayServer]:
    async with serving() as running:
        yield running


def get(path: str, port: int, *, method: str = "GET", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()


async def exchange(display: DisplayServer, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw``, read the whole answer (the server closes after each one)."""
    assert display.address is not None
    reader, writer = await asyncio.open_connection(*display.address)
    try:
        writer.write(raw)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        await shut(writer)
    return parse_answer(answer)


async def shut(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


def parse_answer(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *fields = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
    return int(status_line.split(" ")[1]), headers, body


async def test_the_page_its_files_and_the_state(display: DisplayServer) -> None:
    port = display.address[1] if display.address else 0
    status, headers, body = await exchange(display, get("/", port))
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b'src="/lane.js"' in body
    assert b'href="/lane.css"' in body
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert int(headers["content-length"]) == len(body)
    status, headers, _ = await exchange(display, get("/lane.css", port))
    assert status == 200
    assert headers["content-type"].startswith("text/css")
    status, headers, _ = await exchange(display, get("/lane.js", port))
    assert status == 200
    assert headers["content-type"].startswith("text/javascript")
    status, headers, body = await exchange(display, get("/state?x=1", port))
    state = json.loads(body)
    assert status == 200
    assert state["text"] == line("step.scan").screen
    assert state["seq"] == 1
    display.show(MEASURE)
    _, _, body = await exchange(display, get("/state", port))
    assert json.loads(body)["phase"] == "measure"
    assert display.url == f"http://127.0.0.1:{port}/"


async def test_other_paths_and_methods_are_refused(display: DisplayServer) -> None:
    port = display.address[1] if display.address else 0
    for path in ("/nope", "/../etc/passwd", "/%2e%2e/", "/index.html", "//", "/static/lane.js"):
        assert (await exchange(display, get(path, port)))[0] == 404, path
    for method in ("POST", "PUT", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"):
        status, headers, _ = await exchange(display, get("/", port, method=method))
        assert (status, headers["allow"]) == (405, "GET"), method
    assert display.refused[404] == 6
    assert display.refused[405] == 7


MALFORMED = {
    "garbage": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),  # a TLS hello
    "non-ascii": ("GET /\u72b6\u6001 HTTP/1.1\r\nHost: h\r\n\r\n".encode(), 400),
    "nul": (b"GET /\x00 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400),
    "ansi": (b"GET /\x1b[2J HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400),
    "crlf in value": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX: a\rb\r\n\r\n", 400),
    "0xff": (b"GET / HTTP/1.1\r\nHost: \xff\r\n\r\n", 400),
    "two spaces": (b"GET  / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400),
    "no version": (b"GET /\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400),
    "bad version": (b"GET / HTTP/x\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400),
    "http/2": (b"GET / HTTP/2.0\r\nHost: 127.0.0.1:{port}\r\n\r\n", 505),
    "absolute target": (b"GET http://evil/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400),
    "asterisk": (b"GET * HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400),
    "no colon": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nbroken\r\n\r\n", 400),
    "folded": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n folded\r\n\r\n", 400),
    "space in name": (b"GET / HTTP/1.1\r\nHost : 127.0.0.1:{port}\r\n\r\n", 400),
    "two hosts": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: x\r\n\r\n", 400),
    "no host": (b"GET / HTTP/1.1\r\n\r\n", 421),
    "foreign host": (b"GET / HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n", 421),
    "a body": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 5\r\n\r\n", 400),
    "chunked": (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    ),
    "many headers": (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n" + b"X-A: b\r\n" * 100 + b"\r\n",
        431,
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_malformed_requests_get_a_status_and_the_next_client_is_served(
    display: DisplayServer, name: str
) -> None:
    raw, expected = MALFORMED[name]
    port = display.address[1] if display.address else 0
    status, _, body = await exchange(display, raw.replace(b"{port}", str(port).encode()))
    assert status == expected
    assert json.loads(body) == {"error": expected}
    assert (await exchange(display, get("/state", port)))[0] == 200


async def test_a_megabyte_of_headers_is_cut_off_at_the_limit(display: DisplayServer) -> None:
    port = display.address[1] if display.address else 0
    huge = get("/", port, extra="X-Big: " + "a" * (1 << 20) + "\r\n")
    assert display.address is not None
    reader, writer = await asyncio.open_connection(*display.address)
    started = time.monotonic()
    writer.write(huge)
    with contextlib.suppress(ConnectionError):
        await writer.drain()  # the server may close while the rest is still on its way
    answer = await asyncio.wait_for(reader.read(), 10)
    await shut(writer)
    assert parse_answer(answer)[0] == 431
    assert time.monotonic() - started < 2.0
    assert (await exchange(display, get("/state", port)))[0] == 200


async def test_a_slowloris_is_timed_out_while_others_are_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(display_server, "HEAD_TIMEOUT_S", 0.5)
    async with serving() as display:
        assert display.address is not None
        port = display.address[1]
        reader, writer = await asyncio.open_connection(*display.address)
        started = time.monotonic()
        writer.write(b"GET / HTTP/1.1\r\n")
        for _ in range(3):  # a byte now and then, never the blank line
            await asyncio.sleep(0.1)
            writer.write(b"X")
            status, _, _ = await exchange(display, get("/state", port))
            assert status == 200
        answer = await asyncio.wait_for(reader.read(), 5)
        await shut(writer)
        assert parse_answer(answer)[0] == 408
        assert 0.4 < time.monotonic() - started < 2.0


async def test_connections_beyond_the_cap_get_503() -> None:
    async with serving(max_clients=4) as display:
        assert display.address is not None
        port = display.address[1]
        idle = [await asyncio.open_connection(*display.address) for _ in range(4)]
        await asyncio.sleep(0.1)
        assert (await exchange(display, get("/state", port)))[0] == 503
        for _, writer in idle:
            await shut(writer)
        await asyncio.sleep(0.2)
        assert (await exchange(display, get("/state", port)))[0] == 200


async def open_stream(display: DisplayServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    assert display.address is not None
    reader, writer = await asyncio.open_connection(*display.address)
    writer.write(get("/events", display.address[1]))
    return reader, writer


async def next_event(reader: asyncio.StreamReader) -> dict[str, str]:
    """The next SSE event's fields (comments and the retry line skipped)."""
    while True:
        block = (await asyncio.wait_for(reader.readuntil(b"\n\n"), 5)).decode()
        lines = [f for f in block.split("\n") if f.startswith(("id: ", "data: "))]  # no head
        fields = dict(f.split(": ", 1) for f in lines)
        if "data" in fields:
            return fields


async def test_the_event_stream_sends_the_current_view_then_each_new_one(
    display: DisplayServer,
) -> None:
    reader, writer = await open_stream(display)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status, headers, _ = parse_answer(head)
    assert status == 200
    assert headers["content-type"] == "text/event-stream"
    assert headers["cache-control"] == "no-store"
    assert await asyncio.wait_for(reader.readuntil(b"\n\n"), 5) == b"retry: 1000\n\n"
    first = await next_event(reader)
    assert first["id"] == "1"
    assert json.loads(first["data"])["phase"] == "ready"
    started = time.monotonic()
    display.show(MEASURE)
    second = await next_event(reader)
    assert time.monotonic() - started < 0.5  # generous; the 100 ms bound: bench/gate_display.py
    assert second["id"] == "2"
    assert json.loads(second["data"])["wait_s"] == 20
    assert len(display.streams) == 1
    await shut(writer)
    await asyncio.wait_for(_until(lambda: not display.streams), 5)  # gone at once, not later


async def test_streams_beyond_the_cap_get_503_with_retry_after() -> None:
    async with serving(max_streams=2) as display:
        streams = [await open_stream(display) for _ in range(2)]
        for reader, _ in streams:
            await next_event(reader)
        reader, writer = await open_stream(display)
        status, headers, _ = parse_answer(await asyncio.wait_for(reader.read(), 5))
        assert (status, headers["retry-after"]) == (503, "5")
        await shut(writer)
        await shut(streams[0][1])
        await asyncio.wait_for(_until(lambda: len(display.streams) == 1), 5)
        reader, writer = await open_stream(display)
        assert json.loads((await next_event(reader))["data"])["seq"] == 1
        for _, w in (*streams, (reader, writer)):
            await shut(w)


def test_a_full_queue_drops_its_oldest_view() -> None:
    queue: asyncio.Queue[bytes] = asyncio.Queue(3)
    for i in range(10):
        offer(queue, str(i).encode())
    assert [queue.get_nowait() for _ in range(3)] == [b"7", b"8", b"9"]


async def test_a_reader_that_never_reads_costs_a_bounded_queue_and_show_never_waits(
    display: DisplayServer,
) -> None:
    assert display.address is not None
    sock = socket.create_connection(display.address)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(get("/events", display.address[1]))
    await asyncio.wait_for(_until(lambda: bool(display.streams)), 5)
    hostile = Cue(Phase.RESULT, "reason.ok", granted=True, reason="ok", name="<img src=x>" * 50)
    started = time.monotonic()
    for _ in range(2000):
        display.show(hostile)
    assert time.monotonic() - started < 2.0  # about 0.2 ms each, whatever the reader does
    (queue,) = display.streams
    assert queue.qsize() <= display_server.STREAM_QUEUE
    sock.close()


async def test_a_taken_address_leaves_the_lane_running_and_is_tried_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(display_server, "BIND_RETRY_S", 0.2)
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    display = DisplayServer("127.0.0.1", port, lambda: view.Lane("east-in", "en"))
    display.show(READY)
    with caplog.at_level(logging.ERROR, logger="device.display.server"):
        task = asyncio.create_task(display.run())
        await asyncio.sleep(0.3)
        assert not task.done()
        assert not display.bound.is_set()
        assert "cannot listen" in caplog.text
    holder.close()
    await asyncio.wait_for(display.bound.wait(), 5)
    assert display.url == f"http://127.0.0.1:{port}/"
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _raw_display(listen: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "gate": {"site": "gw01", "id": "east-in", "zone": 1, "direction": "in"},
        "broker": {"host": "h", "username": "east-in", "password": "x" * 12},
        "trust": {"root_key": "0" * 64},
        "scanner": {"model": "line", "port": "/dev/null"},
        "thermometer": {"model": "gy-mcu90614", "port": "/dev/null"},
        "display": {"listen": listen},
    }
    return raw


@pytest.mark.parametrize("listen", ["0.0.0.0:8090", "192.168.1.5:8090", "[::]:8090", "gate:80"])
def test_config_refuses_a_non_loopback_address(listen: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(_raw_display(listen))
    assert "loopback only" in str(caught.value)
    assert "[display]" in str(caught.value)


@pytest.mark.parametrize("listen", ["8090", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", 8090])
def test_config_refuses_a_malformed_address(listen: object) -> None:
    with pytest.raises(ConfigError, match="display"):
        validate(_raw_display(listen))


def test_config_defaults_to_the_loopback_port_8090() -> None:
    raw = _raw_display("127.0.0.1:8090")
    del raw["display"]
    settings = validate(raw)
    assert settings.display.enabled
    assert settings.display.address == ("127.0.0.1", 8090)
    assert validate(_raw_display("[::1]:0")).display.address == ("::1", 0)


async def _until(check: object, within: float = 5.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.01)


async def test_a_new_language_is_shown_without_waiting_for_the_next_cue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(display_server, "FOLLOW_S", 0.05)
    language = ["zh-CN"]
    display = DisplayServer("127.0.0.1", 0, lambda: view.Lane("east-in", language[0]))
    display.show(READY)
    task = asyncio.create_task(display.run())
    await asyncio.wait_for(display.bound.wait(), 5)
    assert json.loads(display.state)["text"] == "请出示通行证"
    language[0] = "en"  # the signed policy's lane_language arrived
    await asyncio.wait_for(_until(lambda: json.loads(display.state)["language"] == "en"), 5)
    assert json.loads(display.state)["text"] == "Show your pass"
    seq = display.seq
    await asyncio.sleep(0.2)
    assert display.seq == seq  # shown once, not again and again
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

"""A group-chat robot on 127.0.0.1 for tests: a threaded http.server on a free port that keeps
every POST it receives and answers from a script (status and JSON body per request, the last
one repeated), optionally after a delay (a robot that hangs)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Received:
    """One POST as the robot saw it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class ChatSink:
    """The robot: ``answers`` are (status, body) in order, the last repeated; ``delay_s`` first."""

    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=lambda: [(200, {})])
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with sink.lock:
                    sink.received.append(
                        Received(parts.path, query, dict(self.headers.items()), body)
                    )
                    index = min(len(sink.received), len(sink.answers)) - 1
                    status, answer = sink.answers[index]
                sink.arrived.set()
                if sink.delay_s:
                    sink.stopping.wait(sink.delay_s)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (its timeout)

            def log_message(self, *args: Any) -> None:
                pass

        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> ChatSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

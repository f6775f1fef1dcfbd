"""The lane display's HTTP parsing: one bounded request head in, a request or a refusal out.

GET only, no body, no keep-alive: the only client is the kiosk browser on the same Pi, so
anything unusual is refused with a status rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEAD_LIMIT = 8192  # bytes of request line plus headers
MAX_HEADERS = 64
TOKEN = re.compile(r"\A[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
TARGET = re.compile(r"\A/[\x21-\x7e]*\Z")  # origin-form, visible ASCII only
VERSION = re.compile(r"\AHTTP/\d\.\d\Z")
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    421: "Misdirected Request",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


class Refused(Exception):
    """A request the page server answers with an error status."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(f"{status}: {why}")
        self.status = status
        self.why = why


@dataclass(frozen=True, slots=True)
class Request:
    """What the server routes on: the path (query dropped) and the Host header."""

    path: str
    host: str


def parse(head: bytes, hosts: frozenset[str]) -> Request:
    """A checked request from its head (up to and including the blank line); ``hosts`` are the
    Host values this loopback server answers to (a DNS-rebinding page names another)."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise Refused(400, "non-ASCII request head") from None
    request_line, *fields = text[: -len("\r\n\r\n")].split("\r\n")
    method, path = _request_line(request_line)
    headers = _headers(fields)
    if method != "GET":
        raise Refused(405, f"method {method}")
    if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
        raise Refused(400, "a GET carries no body")
    host = headers.get("host")
    if host is None or host.lower() not in hosts:
        raise Refused(421, f"host {host!r}")
    return Request(path.split("?", 1)[0], host)


def _request_line(request_line: str) -> tuple[str, str]:
    parts = request_line.split(" ")
    if len(parts) != 3 or not TOKEN.match(parts[0]):
        raise Refused(400, "malformed request line")
    method, target, version = parts
    if not VERSION.match(version):
        raise Refused(400, "malformed version")
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise Refused(505, version)
    if not TARGET.match(target):
        raise Refused(400, "malformed target")
    return method, target


def _headers(fields: list[str]) -> dict[str, str]:
    if len(fields) > MAX_HEADERS:
        raise Refused(431, "too many header fields")
    headers: dict[str, str] = {}
    for field in fields:
        name, colon, value = field.partition(":")
        if not colon or not TOKEN.match(name):
            raise Refused(400, "malformed header field")
        key = name.lower()
        if key in headers and key in ("host", "content-length"):
            raise Refused(400, f"repeated {key}")
        if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
            raise Refused(400, "control character in a header value")
        headers[key] = value.strip(" \t")
    return headers


def response_head(status: int, headers: dict[str, str]) -> bytes:
    """A status line and headers, every response closing its connection except a stream."""
    lines = [f"HTTP/1.1 {status} {REASONS[status]}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")

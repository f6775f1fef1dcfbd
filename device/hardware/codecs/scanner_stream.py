"""Incremental decoders for scanner byte streams (both directions); pure, callers pass ``now``.

``OutputDecoder`` turns scanner -> host bytes into responses, heartbeat replies, payloads and
rejections: binary frames are recognised only at the start of a frame, raw payloads end at
CR, LF, CRLF or TAB (empty frames are ignored) or, if enabled, at an idle gap; a payload over
the cap is discarded up to the next terminator; a partial payload followed by silence is
discarded. ``CommandDecoder`` is the scanner's side: it drops a partial command after 400 ms
and silently refuses a wrong CRC (``AB CD`` bypasses the check).
"""

from __future__ import annotations

from device.hardware.codecs.scanner import (
    BYPASS_CRC,
    COMMAND_HEAD,
    COMMAND_TIMEOUT_S,
    DEFAULT_MAX_FRAME,
    HEARTBEAT_REPLY,
    PARTIAL_TIMEOUT_S,
    TERMINATORS,
    WRAPPED_LEAD,
    CommandFrame,
    HeartbeatReply,
    Payload,
    Rejected,
    Response,
    crc16_xmodem,
)

OutputItem = Response | HeartbeatReply | Payload | Rejected


class OutputDecoder:
    """Scanner -> host bytes to items; ``feed(b"", now)`` applies the idle and partial timers."""

    def __init__(
        self,
        *,
        binary_frames: bool = True,
        idle_gap: float | None = None,
        partial_timeout: float = PARTIAL_TIMEOUT_S,
        max_frame: int = DEFAULT_MAX_FRAME,
    ) -> None:
        self._buf = bytearray()
        self._last = 0.0
        self._binary = binary_frames
        self._idle_gap = idle_gap
        self._partial_timeout = partial_timeout
        self._max = max_frame
        self._discarding = False

    def feed(self, data: bytes, now: float) -> list[OutputItem]:
        """Add bytes received at ``now``; return every item that completed, in order."""
        out: list[OutputItem] = []
        if not data:
            self._expire(now, out)
            return out
        if self._buf and now - self._last > self._gap():
            self._expire(now, out)
        self._last = now
        for i in range(0, len(data), 4096):
            self._buf += data[i : i + 4096]
            while self._step(out):
                pass
        return out

    def _gap(self) -> float:
        return self._idle_gap if self._idle_gap is not None else self._partial_timeout

    def _expire(self, now: float, out: list[OutputItem]) -> None:
        """After silence: an idle gap ends a raw payload, otherwise a partial frame is dropped."""
        if not self._buf or now - self._last <= self._gap():
            return
        raw = bytes(self._buf)
        self._buf.clear()
        if self._discarding:
            self._discarding = False
        elif self._idle_gap is not None and not self._binary_start(raw):
            out.append(Payload(raw))
        else:
            out.append(Rejected("partial_timeout", raw[:64]))

    def _binary_start(self, buf: bytes | bytearray) -> bool:
        return self._binary and not self._discarding and buf[:1] in (b"\x02", b"\x03")

    def _step(self, out: list[OutputItem]) -> bool:
        """Consume one item from the buffer; False when more bytes are needed."""
        if not self._buf:
            return False
        if self._binary_start(self._buf):
            return self._binary_step(out)
        end = _find_terminator(self._buf)
        if end < 0:
            if len(self._buf) > self._max:
                if not self._discarding:
                    out.append(Rejected("too_long", bytes(self._buf[:64])))
                self._discarding = True
                self._buf.clear()
            return False
        frame = bytes(self._buf[:end])
        del self._buf[: end + 1]
        if self._discarding:
            self._discarding = False
        elif len(frame) > self._max:
            out.append(Rejected("too_long", frame[:64]))
        elif frame:
            out.append(Payload(frame))
        return True

    def _binary_step(self, out: list[OutputItem]) -> bool:
        buf = self._buf
        if buf[0] == WRAPPED_LEAD and HEARTBEAT_REPLY.startswith(bytes(buf[:7])):
            if len(buf) < len(HEARTBEAT_REPLY):
                return False
            del buf[: len(HEARTBEAT_REPLY)]
            out.append(HeartbeatReply())
            return True
        if buf[0] == WRAPPED_LEAD:
            return self._wrapped_step(out)
        if len(buf) < 4:
            return False
        size = 4 + (buf[3] or 256) + 2
        if len(buf) < size:
            return False
        frame = bytes(buf[:size])
        del buf[:size]
        if frame[1] != 0 or crc16_xmodem(frame[2:-2]) != int.from_bytes(frame[-2:], "big"):
            out.append(Rejected("bad_crc", frame))
        else:
            out.append(Response(status=frame[2], data=frame[4:-2]))
        return True

    def _wrapped_step(self, out: list[OutputItem]) -> bool:
        buf = self._buf
        if len(buf) < 3:
            return False
        length = int.from_bytes(buf[1:3], "big")
        if length == 0 or length > self._max:
            out.append(Rejected("bad_wrapped_length", bytes(buf[:3])))
            del buf[:3]
            return True
        if len(buf) < 3 + length:
            return False
        payload = bytes(buf[3 : 3 + length])
        del buf[: 3 + length]
        out.append(Payload(payload, wrapped=True))
        return True


def _find_terminator(buf: bytearray) -> int:
    """Index of the first CR, LF or TAB, or -1."""
    found = [i for i in (buf.find(t) for t in TERMINATORS) if i >= 0]
    return min(found) if found else -1


class CommandDecoder:
    """Host -> scanner bytes to command frames (the simulator's side)."""

    def __init__(self, *, timeout: float = COMMAND_TIMEOUT_S) -> None:
        self._buf = bytearray()
        self._since = 0.0
        self._timeout = timeout

    def feed(self, data: bytes, now: float) -> list[CommandFrame | Rejected]:
        """Frames completed by ``data``; wrong CRCs come back as Rejected (reply with silence)."""
        out: list[CommandFrame | Rejected] = []
        if self._buf and now - self._since > self._timeout:
            out.append(Rejected("command_timeout", bytes(self._buf)))
            self._buf.clear()
        if not self._buf:
            self._since = now
        self._buf += data
        while self._step(out, now):
            pass
        return out

    def _step(self, out: list[CommandFrame | Rejected], now: float) -> bool:
        start = self._buf.find(COMMAND_HEAD)
        if start < 0:
            keep = 1 if self._buf.endswith(COMMAND_HEAD[:1]) else 0
            del self._buf[: len(self._buf) - keep]
            return False
        if start:
            del self._buf[:start]
            self._since = now
        if len(self._buf) < 4:
            return False
        size = 6 + (self._buf[3] or 256) + 2
        if len(self._buf) < size:
            return False
        frame = bytes(self._buf[:size])
        del self._buf[:size]
        self._since = now
        body, crc = frame[2:-2], frame[-2:]
        bypass = crc == BYPASS_CRC
        if not bypass and crc16_xmodem(body) != int.from_bytes(crc, "big"):
            out.append(Rejected("bad_crc", frame))
        else:
            out.append(
                CommandFrame(body[0], int.from_bytes(body[2:4], "big"), body[4:], not bypass)
            )
        return True


__all__ = ["CommandDecoder", "OutputDecoder", "OutputItem"]

"""Takeovers of one MQTT session: what ``GateStatus.takeovers`` counts, on gate and server alike.

The broker binds each client id to its account (``use_username_as_clientid``), so only someone
holding the account's own password can take a session over; the one holding it is dropped. A
takeover is recognised two ways:

* the broker's DISCONNECT says so (reason 0x8E, "Session taken over": MQTT 5, sent by mosquitto
  from 2.0.15 on);
* mosquitto 2.0.11 (Debian 12) closes the old connection without a word, so a connection lost
  without a DISCONNECT (no keepalive timeout either) whose very next attempt is accepted within
  ``QUICK_RECONNECT_S`` counts as one: the broker was up all along. A broker restarted that
  fast counts too (docs/operations.md, ``session_takeover``).

Pure: the caller passes every time (seconds of a monotonic clock).
"""

from __future__ import annotations

from collections import deque

WINDOW_S = 600.0  # "taken over N times in the last 10 minutes"
SESSION_TAKEN_OVER = 0x8E  # MQTT 5 DISCONNECT reason code
CONNECTION_LOST = 0x80  # what paho reports for a socket closed without a DISCONNECT
QUICK_RECONNECT_S = 15.0
LIMIT = 64  # takeovers remembered; more in one window only says "many"


class Takeovers:
    """Recent takeovers of one session, from the link's drops, failed attempts and connects."""

    def __init__(self) -> None:
        self._times: deque[float] = deque(maxlen=LIMIT)
        self._silent_drop: float | None = None  # a drop that may prove to be a takeover

    def dropped(self, reason: int, *, said_by_broker: bool, at: float) -> bool:
        """The connection was lost; True if the broker said it was taken over."""
        self._silent_drop = None
        if reason == SESSION_TAKEN_OVER:
            self._times.append(at)
            return True
        if reason == CONNECTION_LOST and not said_by_broker:
            self._silent_drop = at
        return False

    def failed(self) -> None:
        """An attempt to connect failed: the last drop was the broker or the network."""
        self._silent_drop = None

    def connected(self, at: float) -> bool:
        """The broker accepted us; True if that shows the last drop to have been a takeover."""
        drop, self._silent_drop = self._silent_drop, None
        if drop is None or at - drop > QUICK_RECONNECT_S:
            return False
        self._times.append(drop)
        return True

    def count(self, now: float) -> int:
        """Takeovers in the last ``WINDOW_S``."""
        return sum(1 for t in self._times if now - t <= WINDOW_S)

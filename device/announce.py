"""The lane's announcer: hands each cue (device.core.cues) to the voice and the lane display.

Listeners are called in the event loop, on its turn after the cue was told (so the relay task a
grant just woke runs first), and must not block (the voice starts a playback task, the display
queues an event for its streams); one that raises is logged and the others still hear the cue,
so a broken speaker never holds up a decision. After a result the lane goes back
to its resting cue by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from device.core.cues import Cue, Phase, mode_changed, ready
from protocol.messages import Mode

logger = logging.getLogger(__name__)

RESULT_HOLD_S = 4.0  # how long a result stays on the display before the lane asks again

Listener = Callable[[Cue], None]


class Announcer:
    """The current cue, who hears it, and the count of clips asked for (for the demo's summary)."""

    def __init__(self, hold_s: float = RESULT_HOLD_S) -> None:
        self.hold_s = hold_s
        self.current: Cue = ready(Mode.NORMAL)
        self.seq = 0  # one more per cue told (the display's event id)
        self.said: Counter[str] = Counter()  # clip id -> times asked for
        self._resting: Cue = self.current
        self._mode = Mode.NORMAL
        self._listeners: list[Listener] = []
        self._back: asyncio.TimerHandle | None = None

    def listen(self, listener: Listener) -> None:
        """Add a listener (the voice, the display); it hears every cue from now on."""
        self._listeners.append(listener)

    def tell(self, cue: Cue) -> None:
        """Make ``cue`` the lane's current one and hand it to every listener."""
        self._cancel_back()
        self.seq += 1
        self.current = cue
        self.said.update(cue.speech)
        try:  # the outputs run on the loop's next turn: a relay asked for just now goes first
            asyncio.get_running_loop().call_soon(self._hand_out, cue)
        except RuntimeError:  # told outside the loop (a test of the mapping)
            self._hand_out(cue)
        if cue.phase == Phase.RESULT:
            self._back_after(self.hold_s)

    def _hand_out(self, cue: Cue) -> None:
        for listener in self._listeners:
            try:
                listener(cue)
            except Exception:  # one broken output must not silence the others or the lane
                logger.exception("lane output failed on %s", cue.line)

    def typed(self, count: int) -> None:
        """The person typed a digit (or cleared them): the dots change, nothing is said."""
        if self.current.phase == Phase.DIGITS and self.current.digits != count:
            self.tell(replace(self.current, digits=count, speech=()))

    def set_mode(self, mode: Mode) -> None:
        """The lane's mode: its resting cue; a change is announced (not the first one)."""
        changed, self._mode = mode != self._mode, mode
        self._resting = ready(mode)
        if changed:
            self.tell(mode_changed(mode))
        elif self.current.phase in (Phase.READY, Phase.CLOSED, Phase.FREE):
            self.rest()

    def rest(self) -> None:
        """Back to the resting cue (after a result, or when a flow ends without one)."""
        now, resting = self.current, self._resting
        if (now.phase, now.line, now.digits) != (resting.phase, resting.line, resting.digits):
            self.tell(resting)

    def _back_after(self, delay: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # told outside the loop (a test of the mapping): nothing to undo
            return
        self._back = loop.call_later(delay, self.rest)

    def _cancel_back(self) -> None:
        if self._back is not None:
            self._back.cancel()
            self._back = None
